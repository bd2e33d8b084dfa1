"""The bureau's own REST API (mounted under /api by ``yibao serve``): staff log in, then search
persons, institutions, the catalogue, policies, encounters and settlements by role."""
