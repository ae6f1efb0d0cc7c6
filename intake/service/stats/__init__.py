"""Statistics and KPIs (统计与考核, DESIGN §8): pre-aggregated counters, their arithmetic, exports."""
