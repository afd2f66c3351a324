"""wpscim: a SCIM 2.0 service that provisions identity-provider users into WordPress's own tables."""

__version__ = "0.1.0"
