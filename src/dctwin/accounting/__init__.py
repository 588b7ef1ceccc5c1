"""Energy, carbon, cost and finance of a run: pure functions of its time series."""

from dctwin.accounting.accounts import REQUIRED_COLUMNS, Accounts, account
from dctwin.accounting.capex import capex_items
from dctwin.accounting.carbon import emissions_t
from dctwin.accounting.compare import compare_policy
from dctwin.accounting.energy import energy_flows
from dctwin.accounting.finance import asset_schedule

__all__ = [
           "REQUIRED_COLUMNS",
           "Accounts",
           "account",
           "asset_schedule",
           "capex_items",
           "compare_policy",
           "emissions_t",
           "energy_flows",
]
