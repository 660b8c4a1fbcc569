"""The pages of the web view, one module per area (home, accounts, contracts, invoices, quotes, reports), each
with its ``ROUTES``; :func:`cpqctl.web.app.create_app` mounts them. A later slice (the customer portal) adds
its own modules here. :mod:`cpqctl.web.routes.lists` holds the whole-repository lists they share."""
