"""Cockpit and reports: the KPI catalogue, dashboards, generated work reports and ledger exports."""
