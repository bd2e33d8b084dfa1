/* The front page's charts (ECharts, vendored). Data: <script type="application/json" id="chart-data">. */
(function () {
  "use strict";
  var node = document.getElementById("chart-data");
  if (!node || typeof echarts === "undefined") { return; }
  var d = JSON.parse(node.textContent);
  var palette = ["#0b57a4", "#d9822b", "#2e8b57", "#8e44ad", "#c0392b", "#7f8c8d", "#16a085"];
  var charts = [];

  function wan(v) { return (v / 10000).toLocaleString("zh-CN", { maximumFractionDigits: 1 }) + " 万"; }
  function yuan(v) { return Number(v).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " 元"; }

  function make(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    option.color = palette;
    option.animation = false;
    chart.setOption(option);
    el.setAttribute("data-rendered", "1");
    charts.push(chart);
  }

  function stacked(id, series) {
    make(id, {
      tooltip: { trigger: "axis", valueFormatter: yuan },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 12, top: 34, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: d.months },
      yAxis: { type: "value", axisLabel: { formatter: wan } },
      series: series.map(function (s) { return { name: s.name, type: "bar", stack: "all", data: s.data, barMaxWidth: 36 }; })
    });
  }

  stacked("chart-scheme", d.by_scheme);
  stacked("chart-level", d.by_level);
  stacked("chart-category", d.by_category);

  make("chart-reserve", {
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v.toFixed(1) + " 个月"; } },
    legend: { top: 0 },
    grid: { left: 8, right: 12, top: 34, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: d.reserve_months },
    yAxis: { type: "value", name: "月", min: 0 },
    series: d.reserve.map(function (s) {
      return { name: s.name, type: "line", data: s.data, symbolSize: 6,
               markLine: { silent: true, symbol: "none", lineStyle: { type: "dashed", color: "#b3261e" },
                           data: [{ yAxis: 6, name: "6个月" }, { yAxis: 3, name: "3个月" }], label: { formatter: "{b}" } } };
    })
  });

  if (d.growth) {
    var g = d.growth, names = [g.base_label], base = [0], up = [0], down = [0], totals = [g.base], running = g.base;
    g.parts.forEach(function (p) {
      names.push(p.name);
      totals.push(0);
      if (p.value >= 0) { base.push(running); up.push(p.value); down.push(0); running += p.value; }
      else { running += p.value; base.push(running); up.push(0); down.push(-p.value); }
    });
    names.push(g.current_label); base.push(0); up.push(0); down.push(0); totals.push(g.current);
    make("chart-growth", {
      tooltip: { trigger: "axis", formatter: function (items) {
        var i = items[0].dataIndex, v = (i === 0) ? g.base : (i === names.length - 1) ? g.current : g.parts[i - 1].value;
        return names[i] + "：" + (i > 0 && i < names.length - 1 && v > 0 ? "+" : "") + yuan(v);
      } },
      grid: { left: 8, right: 12, top: 20, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: names },
      yAxis: { type: "value", axisLabel: { formatter: wan } },
      series: [
        { type: "bar", stack: "w", data: base, itemStyle: { color: "transparent" }, emphasis: { disabled: true } },
        { name: "支出", type: "bar", stack: "w", data: totals, itemStyle: { color: "#0b57a4" }, barMaxWidth: 60 },
        { name: "增加", type: "bar", stack: "w", data: up, itemStyle: { color: "#c0392b" }, barMaxWidth: 60 },
        { name: "减少", type: "bar", stack: "w", data: down, itemStyle: { color: "#2e8b57" }, barMaxWidth: 60 }
      ]
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
