// The product form, enhanced where JavaScript runs (without it the form works as is:
// codes are typed, and the origin check shows on the product's page after saving).
//
// - Each HS code field suggests subheadings as one types (a <datalist> filled from
//   /portal/hs-codes/) and names the chosen code's description under the field.
// - The origin check of the form as it stands is shown below the bill of materials and
//   follows every change (the server works it out: /portal/products/check/); a status
//   line tells screen readers the verdict only when it changes.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-check]");
  if (!form || !window.fetch || !window.FormData) return;

  function debounce(fn, ms) {
    var timer;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // --- The live origin check --------------------------------------------------------------
  var panel = document.getElementById("live-check");
  var result = document.getElementById("live-check-result");
  var status = document.getElementById("live-check-status");
  var pending = null;

  var check = debounce(function () {
    if (pending) pending.abort();
    pending = new AbortController();
    var body = new FormData(form);
    fetch(form.dataset.liveCheck, {
      method: "POST", body: body, credentials: "same-origin", signal: pending.signal,
    }).then(function (response) {
      if (!response.ok) throw new Error("check " + response.status);
      return response.text();
    }).then(function (html) {
      result.innerHTML = html;
      var root = result.firstElementChild;
      var said = root ? root.getAttribute("data-status") : "";
      if (said && status.textContent !== said) status.textContent = said;
    }).catch(function () { /* keep the last check shown; saving still works */ });
  }, 350);

  if (panel && result && status) {
    panel.hidden = false;
    form.addEventListener("input", check);
    form.addEventListener("change", check);
    check();
  }

  // --- HS code suggestions ----------------------------------------------------------------
  var lookupUrl = form.dataset.hsLookup;

  function attach(input) {
    var list = document.createElement("datalist");
    list.id = input.id + "-suggestions";
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    var note = document.createElement("span");
    note.className = "hs-description";
    note.id = input.id + "-description";
    input.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", note);
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(note.id);
    input.setAttribute("aria-describedby", described.join(" "));

    var lookup = debounce(function () {
      var query = input.value.trim();
      if (!query) { list.innerHTML = ""; note.textContent = ""; return; }
      fetch(lookupUrl + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) {
          list.innerHTML = "";
          var exact = "";
          data.results.forEach(function (item) {
            var option = document.createElement("option");
            option.value = item.code;
            option.label = item.description;
            list.appendChild(option);
            if (item.code === query) exact = item.description;
          });
          note.textContent = exact;
          note.title = exact;
        })
        .catch(function () { /* suggestions are a help, not a need */ });
    }, 250);
    input.addEventListener("input", lookup);
    if (input.value) lookup();
  }

  if (lookupUrl) form.querySelectorAll("input[data-hs-code]").forEach(attach);
})();
