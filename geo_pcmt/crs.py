"""Coordinate reference systems used across geo_pcmt, named once."""
STORAGE_CRS = "EPSG:4326"  # WGS 84, lon/lat: what is stored and served
METRIC_CRS = "EPSG:32648"  # WGS 84 / UTM zone 48N: every distance and area is computed here
