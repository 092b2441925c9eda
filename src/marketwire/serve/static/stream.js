// The live page (/stream/{id}): last trade and quote and a chart of 1-minute bars, from /v1/stream/sse.
// No library: EventSource and an SVG drawn by hand. The server's CSP allows this script and this origin only.
(function () {
  "use strict";
  var root = document.querySelector("[data-testid=live]");
  if (!root) { return; }
  var $ = function (id) { return root.querySelector("[data-testid=" + id + "]"); };
  var chart = $("chart");
  var bars = {};          // bar start (ns, as a string) -> bar
  var count = 0;
  var NS = "http://www.w3.org/2000/svg";
  var fmt = function (v) { return v === null || v === undefined ? "–" : String(+v.toFixed(6)); };

  function iso(ns) {
    return new Date(Number(BigInt(ns) / 1000000n)).toISOString();
  }

  function draw() {
    var keys = Object.keys(bars).sort(function (a, b) { return Number(BigInt(a) - BigInt(b)); }).slice(-60);
    while (chart.firstChild) { chart.removeChild(chart.firstChild); }
    if (!keys.length) { return; }
    var lo = Infinity, hi = -Infinity;
    keys.forEach(function (k) { lo = Math.min(lo, bars[k].low); hi = Math.max(hi, bars[k].high); });
    var span = hi - lo || 1, w = 600 / Math.max(keys.length, 20);
    var y = function (p) { return 230 - (p - lo) / span * 220; };
    keys.forEach(function (k, i) {
      var b = bars[k], x = i * w + w / 2;
      var wick = document.createElementNS(NS, "line");
      wick.setAttribute("x1", x); wick.setAttribute("x2", x);
      wick.setAttribute("y1", y(b.high)); wick.setAttribute("y2", y(b.low));
      wick.setAttribute("stroke", "#555");
      var body = document.createElementNS(NS, "rect");
      var top = y(Math.max(b.open, b.close)), bottom = y(Math.min(b.open, b.close));
      body.setAttribute("x", x - w * 0.35); body.setAttribute("width", w * 0.7);
      body.setAttribute("y", top); body.setAttribute("height", Math.max(bottom - top, 1));
      body.setAttribute("fill", b.close >= b.open ? "#2a7" : "#c33");
      body.setAttribute("data-testid", "bar");
      body.setAttribute("data-start", iso(k));
      body.setAttribute("data-close", b.close);
      chart.appendChild(wick); chart.appendChild(body);
    });
    $("bar-count").textContent = String(keys.length);
  }

  function on(kind, handler) {
    source.addEventListener(kind, function (msg) {
      count += 1;
      $("event-count").textContent = String(count);
      handler(JSON.parse(msg.data));
    });
  }

  var source = new EventSource(root.getAttribute("data-sse"));
  source.addEventListener("subscribed", function () { $("live-status").textContent = "live"; });
  source.onerror = function () { $("live-status").textContent = "reconnecting…"; };
  on("trades", function (e) {
    $("last-price").textContent = fmt(e.price);
    $("last-size").textContent = fmt(e.size);
    $("last-time").textContent = iso(e.ts_event);
    $("last-time").setAttribute("datetime", iso(e.ts_event));
  });
  on("quotes", function (e) {
    if (e.bid_price !== null) { $("bid-price").textContent = fmt(e.bid_price); $("bid-size").textContent = fmt(e.bid_size); }
    if (e.ask_price !== null) { $("ask-price").textContent = fmt(e.ask_price); $("ask-size").textContent = fmt(e.ask_size); }
  });
  on("bars_1m", function (b) {
    bars[String(b.start)] = b;
    draw();
  });
}());
