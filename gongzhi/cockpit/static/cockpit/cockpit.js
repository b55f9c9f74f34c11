// The cockpit's charts: ECharts (vendored by `make install`, never a CDN) draws the trend and the rankings from
// the JSON the page carries; without ECharts the tables say everything and nothing here runs.
(function () {
  "use strict";

  function data(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function draw(element, option) {
    if (!window.echarts || !element || element.dataset.drawn) return;
    element.dataset.drawn = "1";
    var chart = window.echarts.init(element);
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawTrend(root) {
    var chart = data("cockpit-trend-data");
    if (!chart) return;
    draw(root.querySelector('[data-chart="trend"]'), {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 36, bottom: 28 },
      xAxis: { type: "category", data: chart.months },
      yAxis: chart.series.map(function (_s, index) { return { type: "value", position: index ? "right" : "left" }; }),
      series: chart.series.map(function (item, index) {
        return { name: item.name, type: index ? "bar" : "line", yAxisIndex: index, data: item.values };
      }),
    });
  }

  function drawRankings(root) {
    var rankings = data("cockpit-rankings-data") || [];
    root.querySelectorAll('[data-chart="ranking"]').forEach(function (element) {
      var ranking = rankings[Number(element.dataset.ranking)];
      if (!ranking) return;
      element.style.height = 48 + 28 * ranking.places.length + "px";  // a bar per place, not one giant bar
      draw(element, {
        tooltip: {},
        grid: { left: 96, right: 16, top: 8, bottom: 24 },
        xAxis: { type: "value" },
        yAxis: { type: "category", inverse: true, data: ranking.places },
        series: [{ name: ranking.name, type: "bar", data: ranking.values }],
      });
    });
  }

  function all() {
    drawRankings(document);
    drawTrend(document);
  }

  document.addEventListener("DOMContentLoaded", all);
  document.addEventListener("htmx:afterSettle", all);
})();
