"""WordPress storage: connections and transactions, users, roles, passwords, naming rules."""
