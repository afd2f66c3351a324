"""WordPress storage: connections and transactions, users, roles, passwords, and ports of WordPress's
filters (naming, userfields, kses, blocks, php)."""
