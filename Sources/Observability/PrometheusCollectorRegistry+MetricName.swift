import Prometheus

extension PrometheusCollectorRegistry {
    /// The counter of `metric` with these labels, created at 0 on first use.
    public func counter(_ metric: MetricName, _ labels: [(String, String)] = []) -> Counter {
        makeCounter(descriptor: metric.descriptor, labels: labels)
    }

    /// The gauge of `metric` with these labels, created at 0 on first use.
    public func gauge(_ metric: MetricName, _ labels: [(String, String)] = []) -> Gauge {
        makeGauge(descriptor: metric.descriptor, labels: labels)
    }

    /// The duration histogram of `metric` with these labels and buckets (exported in seconds).
    public func durationHistogram(_ metric: MetricName, _ labels: [(String, String)] = [], buckets: [Duration]) -> DurationHistogram {
        makeDurationHistogram(descriptor: metric.descriptor, labels: labels, buckets: buckets)
    }
}
