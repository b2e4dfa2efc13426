"""Sprint workload: who carries which items and points against their capacity."""
