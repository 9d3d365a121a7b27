"""Helpers of the tests, not tests: the CLI's fork server (:mod:`.cli_harness`), the preludes
it imports by name in a child (:mod:`.cli_moments`, :mod:`.cli_scoring`, :mod:`.cli_toy`), and
an independent reference implementation (:mod:`.texture_reference`)."""
