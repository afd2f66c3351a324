"""The Falcon edge: authentication, SCIM media, errors, and the resource classes."""
