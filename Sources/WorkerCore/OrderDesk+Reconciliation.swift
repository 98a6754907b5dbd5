import Platform
import Wire

/// Reconciliation with the venue (docs/robot-worker.md, "Reconciliation"): the comparison is the
/// pure `Reconciliation`; this is what the desk does with its verdict, and with what the journal
/// holds that the snapshot does not (acceptances, and orders a crash left between the two).
extension OrderDesk {
    /// Acceptances the journal holds (read at start) of orders the snapshot still holds as sent:
    /// open since then (the snapshot is not rewritten for an acceptance).
    public func remember(acceptedAt: [String: String]) {
        for var o in book.open.values where o.status == .pending {
            guard let at = acceptedAt[o.clientOrderID] else { continue }
            o.status = .open
            o.acceptedAtUTC = at
            o.placedAt = now() - (UTCTimestamp.parse(at).map { max(0, Double(UTCTimestamp.nowMicros() - $0) / 1e6) } ?? 0)
            sentAt[o.clientOrderID] = nil
            book.update(o)
        }
    }

    /// Orders the journal placed that no answer and no snapshot holds (a crash between the journal
    /// line and the snapshot): each was sent after its snapshot, so most were never sent. They
    /// join the book as sent; reconciliation adopts what the venue has, and journals the rest
    /// `ORDER_REJECTED` (`NOT_SENT`) instead of sending an old intent now.
    public func remember(unanswered: [SimOrder]) {
        for o in unanswered {
            if book.order(o.clientOrderID) == nil, !book.open.keys.contains(o.stream) {
                book.adopt(o)
                sentAt[o.clientOrderID] = now()
                unsent.insert(o.clientOrderID)
            } else {
                notSent(o)
            }
        }
    }

    private func notSent(_ o: SimOrder) {
        sentAt[o.clientOrderID] = nil
        book.remove(o.clientOrderID)
        var r = o
        r.status = .rejected
        log.emit(
            .orderRejected,
            Self.data(r, ["reason": "NOT_SENT", "detail": "the worker stopped before sending it; the venue does not hold it"]))
        notify(Update(event: .orderRejected, order: r, reason: "NOT_SENT"))
    }

    // MARK: reconciliation

    /// Compares the book with the venue's view now (at start, on a reconnect, then every
    /// `reconcile_interval_seconds`).
    public func reconcile(_ reason: String) {
        guard !reconciling else { return }
        reconciling = true
        venue.fetchState(ids: openOrders.map(\.clientOrderID)) { [weak self] state in
            guard let self else { return }
            self.reconciling = false
            guard let state else {
                self.nextReconcile = self.now() + 1
                return
            }
            self.apply(state, reason: reason)
        }
    }

    func apply(_ state: VenueState, reason: String) {
        let remembered = reconciledOnce ? positions.mapValues(\.quantity) : startPositions
        let r = Reconciliation(known: openOrders, knownPositions: remembered, venue: state, fence: book.fence)
        for v in r.filled { filled(v, nil) }
        for v in r.closed { cancelled(v) }
        let byID = Dictionary(state.orders.map { ($0.clientOrderID, $0) }, uniquingKeysWith: { a, _ in a })
        for id in r.adopted { if let v = byID[id] { accepted(v, duplicate: true, adopted: true) } }
        for id in r.resend {
            guard let o = book.order(id) else { continue }
            if unsent.remove(id) != nil {
                notSent(o)
                continue
            }
            sentAt[id] = now()
            venue.place(venueOrder(o))
        }
        for v in r.cancel { venue.cancel(v.clientOrderID, fence: book.fence) }
        for p in r.positions { positionChanged(p) }
        log.emit(.reconciliation, r.data(reason: reason, venue: venue.kind))
        metrics?.reconciled(clean: r.clean)
        reconciledOnce = true
        unsent.removeAll()
        nextReconcile = now() + reconcileInterval
        persist()
        if !r.clean { trip(.reconciliationMismatch, r.mismatched.joined(separator: "; ")) }
        setHold(nil)
        checkLedger()
    }

    func setHold(_ reason: String?) {
        let effective = reason == nil && !reconciledOnce ? holdReason : reason
        guard effective != holdReason else { return }
        holdReason = effective
        onHold?(effective)
    }

}
