"""Stand-ins for outside services that the tests run against."""
