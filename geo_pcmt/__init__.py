"""geo_pcmt: hotspot mapping for drug prevention and control (phòng chống ma túy) in Nghệ An."""
__version__ = "0.1.0"
