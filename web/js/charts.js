/* charts.js — the vendored ECharts (web/vendor/echarts.min.js, from npm), loaded
 * once on the first page that draws a chart. */

let loading = null;

/** Resolves with window.echarts; a failed load may be retried later. */
export function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/vendor/echarts.min.js';
      s.onload = () => resolve(window.echarts);
      s.onerror = () => {
        loading = null;
        reject(new Error('ECharts 加载失败'));
      };
      document.head.appendChild(s);
    });
  }
  return loading;
}
