// Auto-refresh of the dashboard's live regions, written for this project.
//
// A region is an element with `data-refresh-region` and an id; when it carries
// `data-refresh-seconds`, its content is fetched again from the page's own URL that
// often and swapped in place, so the scroll position stays. The page is whole without
// this script: it only saves pressing reload. A refresh waits while a person is using a
// form (focus in a field, or a field changed and not yet sent) and while the tab is
// hidden, and expanded <details> stay open across a refresh.
"use strict";

(function () {
  const region = document.querySelector("[data-refresh-region][data-refresh-seconds]");
  if (!region) {
    return;
  }
  const seconds = Number(region.dataset.refreshSeconds);
  if (!(seconds > 0)) {
    return;
  }
  let edited = false;
  document.addEventListener("input", () => { edited = true; });

  function busy() {
    const active = document.activeElement;
    const typing = active && active.closest("form") && active.matches("input, select, textarea");
    return edited || typing || document.hidden;
  }

  async function refresh() {
    if (busy()) {
      return;
    }
    let response;
    try {
      response = await fetch(window.location.href, { headers: { Accept: "text/html" }, cache: "no-store" });
    } catch (error) {
      region.dataset.refreshState = "unreachable";
      return;
    }
    if (!response.ok && response.status !== 400) {
      region.dataset.refreshState = "failed " + response.status;
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById(region.id);
    if (!fresh || busy()) {
      return;
    }
    const open = Array.from(region.querySelectorAll("details[open][id]"), (details) => details.id);
    region.replaceChildren(...Array.from(fresh.childNodes, (node) => document.importNode(node, true)));
    for (const id of open) {
      const details = document.getElementById(id);
      if (details) {
        details.open = true;
      }
    }
    region.dataset.refreshState = "refreshed";
    region.dataset.refreshedAt = new Date().toISOString();
  }

  window.setInterval(refresh, seconds * 1000);
})();
