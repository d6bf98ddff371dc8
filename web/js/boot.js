/* Runs synchronously in <head>, before first paint: applies 长者模式 (elder mode)
 * from localStorage so large type never flickers in after load. Keep it tiny and
 * classic (not a module) — modules are deferred. */
(function () {
  try {
    if (window.localStorage.getItem('isle.elder') === '1') {
      document.documentElement.classList.add('elder');
    }
  } catch (e) {
    /* storage disabled: default mode */
  }
})();
