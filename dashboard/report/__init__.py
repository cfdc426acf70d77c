"""Reports from the alarm journal: ISA-18.2 / EEMUA 191 KPIs and the weekly review."""
