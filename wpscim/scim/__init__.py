"""The SCIM 2.0 protocol, independent of WordPress: schemas, filters, PATCH, list responses."""
