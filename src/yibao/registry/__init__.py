"""The registry: institutions, insured persons (enrollment, identities) and the catalogue."""
