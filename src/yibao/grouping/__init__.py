"""Provider payment: a table-driven CHS-DRG grouper, DRG payment, DIP (按病种分值) and
bed-day / capitation payment.

- :mod:`yibao.grouping.drg` — the grouper (scheme tables in, MDC/ADRG/DRG and a trail out)
- :mod:`yibao.grouping.scheme` — loading and checking a scheme folder
- :mod:`yibao.grouping.rules` — the rule language of the tables
"""
