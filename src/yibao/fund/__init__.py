"""Fund operations (基金运行): contributions, the fund ledger, indicators, monthly reports,
warnings and projections for a medical security bureau.

- :mod:`yibao.fund.contributions` — contributions (征缴) derived from enrollment
- :mod:`yibao.fund.ledger` — double-entry postings, balances, months of reserve
- :mod:`yibao.fund.aggregates` — monthly aggregates kept by ``post`` for fast reads
- :mod:`yibao.fund.indicators` — the indicators a bureau reports, computed from data
- :mod:`yibao.fund.growth` — spending growth decomposed into persons, visits and cost
- :mod:`yibao.fund.warnings` — warnings with configurable thresholds
- :mod:`yibao.fund.report` — the monthly report (HTML and PDF)
- :mod:`yibao.fund.projection` — five-year projection and policy what-ifs
- :mod:`yibao.fund.api` — plain-data functions for the console and the bureau API

See docs/fund.md.
"""
