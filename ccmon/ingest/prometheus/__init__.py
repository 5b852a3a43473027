"""The Prometheus source: ccmon reads a team's Prometheus (or Thanos, Mimir, VictoriaMetrics)
instead of receiving OTLP itself.

How one poll flows, one module each:

    config    --prometheus URL, --header, --match, --interval  ->  Config
    client    HTTP: one httpx.AsyncClient, every failure turned into a one-line PromError
    api       Prometheus JSON answers -> Sample / Series (pure)
    naming    which metric names this server uses, from /api/v1/label/__name__/values (pure)
    promql    the queries: the raw samples of the counters, a fixed number per poll (pure)
    fetch     discovery + the queries -> Fetched (the raw results of one poll)
    growth    raw samples -> increments, the OTLP store's rule for cumulative counters (pure)
    build     increments -> the model's Aggregates -> Snapshot, as in OTLP mode (pure)
    source    the dashboard's Source: polls on an interval, keeps the last good numbers
    report    ``ccmon report --prometheus``: one poll, the OTLP report's keys

Prometheus has metrics only, never events: event-derived fields of the Snapshot are None.
"""
