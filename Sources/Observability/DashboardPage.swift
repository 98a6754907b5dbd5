/// The dashboard's page, style sheet and script, compiled into the binary (no build step, no
/// files to install). The script inserts every text from the status document with `textContent`
/// (never `innerHTML`), and the server's Content-Security-Policy forbids inline script, so a market,
/// stream, violation or alert text holding markup is shown as text.
enum DashboardPage {
    static let html = Array(
        #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>Robot watchdog</title>
        <link rel="stylesheet" href="dashboard.css">
        <script src="dashboard.js" defer></script>
        </head>
        <body data-conn="connecting">
        <header class="top">
          <h1>Robot watchdog</h1>
          <div id="conn" class="conn connecting" role="status" aria-live="polite">CONNECTING…</div>
          <div id="meta" class="meta"></div>
        </header>
        <main>
          <div id="summary" class="summary"></div>
          <div id="markets" class="markets"></div>
          <section class="history">
            <h2>Alert history</h2>
            <div class="scroll"><table id="history"><thead><tr><th>raised (UTC)</th><th>market</th><th>severity</th><th>condition</th><th>title</th><th>ended (UTC)</th></tr></thead><tbody></tbody></table></div>
            <p id="history-empty" class="muted">No closed alerts.</p>
          </section>
        </main>
        </body>
        </html>

        """#.utf8)

    static let css = Array(
        #"""
        :root {
          --bg: #f6f7f9; --fg: #16181d; --muted: #5b6270; --card: #ffffff; --line: #d9dde4;
          --ok: #17753a; --ok-bg: #dff3e6; --warn: #8a5300; --warn-bg: #fdf0d5; --bad: #b3141b; --bad-bg: #fde2e1;
          --unk: #4a5260; --unk-bg: #e8ebf0;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #111318; --fg: #e8eaef; --muted: #9aa3b2; --card: #1b1e25; --line: #323846;
            --ok: #5fd38a; --ok-bg: #153522; --warn: #f2b84b; --warn-bg: #3a2c10; --bad: #ff7b7b; --bad-bg: #431a1c;
            --unk: #b7bfcc; --unk-bg: #2a2f3a;
          }
        }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
        .top { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 10px 16px; border-bottom: 1px solid var(--line); background: var(--card); }
        h1 { font-size: 18px; margin: 0; }
        h2 { font-size: 16px; margin: 0; }
        .meta, .muted { color: var(--muted); }
        main { padding: 12px 16px; }
        .conn, .badge, .pill, .sev { display: inline-block; padding: 2px 8px; border-radius: 4px; font-weight: 700; border: 1px solid currentColor; white-space: nowrap; }
        .conn.live { color: var(--ok); background: var(--ok-bg); }
        .conn.down, .conn.connecting { color: var(--bad); background: var(--bad-bg); }
        body[data-conn="down"] .markets, body[data-conn="down"] .history { opacity: .55; }
        .summary { margin: 0 0 10px; font-weight: 600; }
        .markets { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; }
        @media (max-width: 440px) { .markets { grid-template-columns: 1fr; } main { padding: 8px; } }
        .market { background: var(--card); border: 1px solid var(--line); border-left: 6px solid var(--unk); border-radius: 6px; padding: 10px 12px; min-width: 0; }
        .market.ok { border-left-color: var(--ok); }
        .market.warn { border-left-color: var(--warn); }
        .market.bad { border-left-color: var(--bad); }
        .market header { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin-bottom: 6px; }
        .market h2 { font-size: 20px; }
        .ok-c { color: var(--ok); background: var(--ok-bg); }
        .warn-c { color: var(--warn); background: var(--warn-bg); }
        .bad-c { color: var(--bad); background: var(--bad-bg); }
        .unk-c { color: var(--unk); background: var(--unk-bg); }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 12px; margin: 0; }
        dt { color: var(--muted); }
        dd { margin: 0; overflow-wrap: anywhere; }
        ul { margin: 6px 0 0; padding-left: 18px; }
        li { overflow-wrap: anywhere; }
        .note { margin-top: 6px; padding: 4px 8px; border-radius: 4px; overflow-wrap: anywhere; }
        .history { margin-top: 18px; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; background: var(--card); margin-top: 6px; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        td { overflow-wrap: anywhere; }

        """#.utf8)

    static let script = Array(
        #"""
        'use strict';
        (function () {
          var doc = null, sup = null, health = null, source = null, lastUpdate = 0, everConnected = false;

          function el(tag, cls, text) {
            var e = document.createElement(tag);
            if (cls) e.className = cls;
            if (text !== undefined && text !== null) e.textContent = String(text);
            return e;
          }
          function row(dl, label, value, cls) {
            dl.appendChild(el('dt', null, label));
            var dd = el('dd', cls, value);
            dl.appendChild(dd);
            return dd;
          }
          function secs(s) { return (Math.round(s * 10) / 10).toFixed(1) + ' s'; }

          function setConn(state, text) {
            var c = document.getElementById('conn');
            c.className = 'conn ' + state;
            c.textContent = text;
            var was = document.body.getAttribute('data-conn');
            document.body.setAttribute('data-conn', state);
            if (was !== state) render();
          }

          function connect() {
            if (source) source.close();
            source = new EventSource('api/stream');
            source.addEventListener('status', function (ev) {
              try { doc = JSON.parse(ev.data); } catch (e) { return; }
              lastUpdate = Date.now();
              if (!everConnected || document.body.getAttribute('data-conn') !== 'live') fetchHealth();
              everConnected = true;
              setConn('live', 'LIVE');
              render();
            });
            source.addEventListener('supervisor', function (ev) {
              try { sup = JSON.parse(ev.data); } catch (e) { sup = null; }
              render();
            });
            source.onerror = function () {
              setConn('down', 'DISCONNECTED from the watchdog: reconnecting…');
              if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
            };
          }

          function fetchHealth() {
            fetch('api/health', { cache: 'no-store' }).then(function (r) { return r.json(); })
              .then(function (h) { health = h; render(); }).catch(function () {});
          }

          // The watchdog sends its status at least once a second: silence is a disconnection.
          setInterval(function () {
            if (lastUpdate && Date.now() - lastUpdate > 3000) {
              setConn('down', 'DISCONNECTED from the watchdog (no update for ' + Math.round((Date.now() - lastUpdate) / 1000) + ' s): reconnecting…');
              connect();
            }
          }, 1000);

          function badge(m) {
            if (m.last_identity_invariants_pass === true) return ['IDENTITY OK', 'ok-c'];
            if (m.last_identity_invariants_pass === false) return ['IDENTITY VIOLATION', 'bad-c'];
            return ['IDENTITY UNKNOWN', 'unk-c'];
          }

          function verdict(m) {
            var open = (m.alerts || []).concat(m.inhibited_alerts || []).filter(function (a) { return !a.acknowledged; });
            if (m.last_identity_invariants_pass === false || m.latch || m.heartbeat_state === 'LOST' || !m.lock ||
                open.some(function (a) { return a.severity === 'CRITICAL'; })) return ['CRITICAL', 'bad'];
            if (m.heartbeat_state !== 'OK' || (m.health && !m.health.healthy) || open.length || m.last_identity_invariants_pass !== true) return ['ATTENTION', 'warn'];
            return ['HEALTHY', 'ok'];
          }

          function marketCard(name, m) {
            var card = el('section', 'market');
            card.setAttribute('data-market', name);
            var head = el('header');
            head.appendChild(el('h2', null, name));
            if (!m) {
              card.classList.add('unk');
              head.appendChild(el('span', 'pill unk-c', 'NO EVENTS YET'));
              card.appendChild(head);
              return card;
            }
            var v = verdict(m);
            card.classList.add(v[1]);
            head.appendChild(el('span', 'pill state ' + v[1] + '-c', v[0]));
            var b = badge(m);
            head.appendChild(el('span', 'badge ' + b[1], b[0]));
            card.appendChild(head);

            var dl = el('dl');
            row(dl, 'Execution', m.execution_instrument || '-', 'exec');
            row(dl, 'Streams', (m.stream_ids || []).join(', ') || '-', 'streams');
            var holder = m.lock ? 'pid ' + m.lock.pid + (health && health.hostname ? ' on ' + health.hostname : '') + ' · fence ' + m.lock.fence : 'none (no lock holder)';
            row(dl, 'Holder', holder, 'holder');
            var mode = (m.mode || '-') + (m.latch ? ' (LATCHED)' : '');
            row(dl, 'Mode', mode, 'mode' + (m.latch ? ' bad-c' : ''));
            var h = m.health ? (m.health.healthy ? 'healthy' : 'UNHEALTHY: ' + m.health.reasons.join('; ')) : '-';
            row(dl, 'Health', h, 'health' + (m.health && !m.health.healthy ? ' warn-c' : ''));
            var hbCls = m.heartbeat_state === 'OK' ? '' : (m.heartbeat_state === 'LOST' ? ' bad-c' : ' warn-c');
            row(dl, 'Heartbeat', m.heartbeat_state + ' · ' + secs(m.heartbeat_age_seconds) + ' ago', 'heartbeat' + hbCls);
            row(dl, 'Identity checked', m.last_identity_invariants_event_chicago ? m.last_identity_invariants_event_chicago + ' (Chicago)' : 'not yet', 'checked');
            var s = sup && sup.markets ? sup.markets[name] : null;
            var supText = s ? s.state + (s.pid ? ' pid ' + s.pid : '') + ' · ' + s.restarts + ' restart' + (s.restarts === 1 ? '' : 's') + (s.last_exit ? ' · last: ' + s.last_exit.description : '')
                            : (sup && sup.error ? 'unreachable (see the header)' : (sup ? 'not supervised' : 'asking the supervisor…'));
            row(dl, 'Supervisor', supText, 'supervisor');
            row(dl, 'Open orders', String((m.open_orders || []).length), 'orders');
            card.appendChild(dl);

            if (m.latch) {
              card.appendChild(el('div', 'note latch bad-c', 'LATCHED ' + m.latch.trigger + ': ' + m.latch.reason + (m.latch.latched_at_utc ? ' (since ' + m.latch.latched_at_utc + ')' : '')));
            }
            if (m.last_identity_invariants_pass === false && (m.last_identity_violations || []).length) {
              var vl = el('ul', 'violations');
              m.last_identity_violations.forEach(function (t) { vl.appendChild(el('li', 'bad-c', 'VIOLATION: ' + t)); });
              card.appendChild(vl);
            }
            if ((m.open_orders || []).length) {
              var ol = el('ul', 'order-list');
              m.open_orders.forEach(function (o) {
                ol.appendChild(el('li', null, o.client_order_id + ' ' + o.side + ' ' + o.quantity + ' ' + o.symbol + ' on ' + o.stream + (o.limit !== null && o.limit !== undefined ? ' limit ' + o.limit : ' at market')));
              });
              card.appendChild(ol);
            }
            var open = (m.alerts || []).concat(m.inhibited_alerts || []);
            if (open.length) {
              var al = el('ul', 'alerts');
              open.forEach(function (a) {
                var li = el('li');
                var cls = a.severity === 'CRITICAL' ? 'bad-c' : (a.severity === 'WARNING' ? 'warn-c' : 'unk-c');
                li.appendChild(el('span', 'sev ' + cls, a.severity));
                li.appendChild(document.createTextNode(' ' + a.title + (a.acknowledged ? ' (acknowledged)' : '') + (a.occurrences > 1 ? ' ×' + a.occurrences : '')));
                li.title = a.message;
                al.appendChild(li);
              });
              card.appendChild(al);
            }
            return card;
          }

          function render() {
            if (!doc) return;
            var names = (doc.configured_markets || []).slice();
            Object.keys(doc.markets || {}).sort().forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); });
            var box = document.getElementById('markets');
            var cards = names.map(function (n) { return marketCard(n, doc.markets[n]); });
            box.replaceChildren.apply(box, cards);
            var bad = cards.filter(function (c) { return c.classList.contains('bad'); }).length;
            var warn = cards.filter(function (c) { return c.classList.contains('warn'); }).length;
            var summary = document.getElementById('summary');
            var stale = document.body.getAttribute('data-conn') !== 'live';
            summary.textContent = (stale ? 'Last known before the disconnection: ' : '') + names.length + ' markets: ' + (names.length - bad - warn) + ' healthy, ' + warn + ' need attention, ' + bad + ' critical';
            summary.className = 'summary ' + (bad ? 'bad-c' : (warn ? 'warn-c' : 'ok-c'));
            document.getElementById('meta').textContent = 'watchdog pid ' + doc.watchdog_pid + (health && health.hostname ? ' on ' + health.hostname : '') +
              ' · ' + doc.connections + ' connections · updated ' + doc.generated_at_utc +
              (sup && sup.error ? ' · supervisor: ' + sup.error : (sup && sup.supervisor_pid ? ' · supervisor pid ' + sup.supervisor_pid : ''));
            var tbody = document.querySelector('#history tbody');
            var hist = (doc.alert_history || []).slice().reverse();
            tbody.replaceChildren.apply(tbody, hist.map(function (a) {
              var tr = el('tr');
              [a.timestamp, a.market, a.severity, a.condition, a.title, a.resolved_at_utc || ''].forEach(function (t, i) {
                var td = el('td', null, t);
                if (i === 2) td.className = a.severity === 'CRITICAL' ? 'bad-c' : (a.severity === 'WARNING' ? 'warn-c' : '');
                tr.appendChild(td);
              });
              return tr;
            }));
            document.getElementById('history-empty').hidden = hist.length > 0;
          }

          connect();
        })();

        """#.utf8)
}
