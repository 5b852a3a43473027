def test_cli_offers_every_insight_report():
    """cli.py keeps its own copy of the --by values (so --help imports nothing): the same list."""
    from ccmon import cli
    from ccmon.commands.insight_report import INSIGHT_BY

    assert cli.INSIGHT_BY == INSIGHT_BY
