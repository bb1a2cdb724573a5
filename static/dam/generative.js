// The Generative AI Refiner (studio.views_generative): variations of a generative step.
//
// Transform posts {count, prompt} and gets a batch; the screen polls each unfinished batch
// (every second, at most 10 minutes) and shows every variation as a card: its image, a
// compare button (hover, or press to toggle: the current result in its place), a
// thumbs-down that dismisses it and the card itself to select it.  Transform again adds
// more.  "Update Transformation" chooses the selected one and returns to the Studio.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("gen-config").textContent);
  var root = document.getElementById("gen");
  var form = document.getElementById("gen-form");
  var countInput = document.getElementById("gen-count");
  var promptInput = document.getElementById("gen-prompt");
  var transform = document.getElementById("gen-transform");
  var progress = document.getElementById("gen-progress");
  var bar = document.getElementById("gen-bar");
  var statusOut = document.getElementById("gen-status");
  var grid = document.getElementById("gen-variations");
  var empty = document.getElementById("gen-empty");
  var errorOut = document.getElementById("gen-error");
  var selectedOut = document.getElementById("gen-selected");
  var update = document.getElementById("gen-update");
  var current = document.getElementById("gen-current");
  var POLL_MS = 1000, POLL_LIMIT = 600;
  var THUMBS_DOWN = '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31' +
    'l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z"/></svg>';
  var batches = {};  // id -> {state, polls}
  var cards = {};  // variation id -> <li>
  var dismissed = {};
  var selected = null;

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (err) { return ""; }
  }

  function call(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrf();
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          throw new Error((json.error && json.error.message) || ("HTTP " + response.status));
        }
        return json;
      });
    });
  }

  function problem(message) {
    errorOut.textContent = message || "";
    errorOut.hidden = !message;
  }

  function counts() {
    var total = 0, finished = 0, failed = 0;
    Object.keys(batches).forEach(function (id) {
      batches[id].state.variations.forEach(function (v) {
        total += 1;
        if (v.status === "done" || v.status === "failed") finished += 1;
        if (v.status === "failed") failed += 1;
      });
    });
    return { total: total, finished: finished, failed: failed };
  }

  function showProgress() {
    var c = counts();
    progress.hidden = c.total === 0;
    bar.max = Math.max(1, c.total);
    bar.value = c.finished;
    var running = c.finished < c.total;
    root.dataset.busy = running ? "1" : "0";
    statusOut.textContent = running
      ? "Generating variations… " + c.finished + " of " + c.total + " ready"
      : c.total + " variation" + (c.total === 1 ? "" : "s") + " ready" + (c.failed ? " (" + c.failed + " failed)" : "") + ".";
  }

  function select(id) {
    selected = id;
    Object.keys(cards).forEach(function (key) {
      cards[key].setAttribute("aria-checked", key === id ? "true" : "false");
    });
    update.disabled = selected === null;
    var card = selected !== null ? cards[selected] : null;
    selectedOut.textContent = card ? "Selected: the variation with seed " + card.dataset.seed + "." : "No variation selected.";
  }

  function setCompare(card, on) {
    var img = card.querySelector("img.gen-image");
    if (!img) return;
    img.src = on ? current.src : card.dataset.src;
    card.querySelector(".gen-compare").setAttribute("aria-pressed", on ? "true" : "false");
  }

  function makeCard(v) {
    var li = document.createElement("li");
    li.className = "gen-card";
    li.id = "variation-" + v.id;
    li.dataset.id = v.id;
    li.dataset.seed = v.seed;
    li.setAttribute("role", "radio");
    li.setAttribute("aria-checked", "false");
    li.tabIndex = 0;
    li.setAttribute("aria-label", "Variation with seed " + v.seed);
    var wait = document.createElement("p");
    wait.className = "gen-wait small";
    wait.innerHTML = '<span class="spinner" aria-hidden="true"></span> Generating…';
    li.appendChild(wait);
    var tools = document.createElement("div");
    tools.className = "gen-tools";
    var seed = document.createElement("span");
    seed.className = "small muted gen-seed";
    seed.textContent = "seed " + v.seed;
    var down = document.createElement("button");
    down.type = "button";
    down.className = "secondary small gen-dismiss";
    down.setAttribute("aria-label", "Dismiss the variation with seed " + v.seed);
    down.title = "Dismiss";
    down.innerHTML = THUMBS_DOWN;
    down.addEventListener("click", function (event) {
      event.stopPropagation();
      dismissed[v.id] = true;
      if (selected === v.id) select(null);
      li.remove();
      delete cards[v.id];
    });
    tools.appendChild(seed);
    tools.appendChild(down);
    li.appendChild(tools);
    li.addEventListener("click", function () { if (li.dataset.ready === "1") select(v.id); });
    li.addEventListener("keydown", function (event) {
      if ((event.key === " " || event.key === "Enter") && event.target === li && li.dataset.ready === "1") {
        event.preventDefault();
        select(v.id);
      }
    });
    grid.appendChild(li);
    cards[v.id] = li;
    return li;
  }

  function fillCard(li, v) {
    if (li.dataset.ready === "1" || v.status === "pending" || v.status === "processing") return;
    var wait = li.querySelector(".gen-wait");
    if (v.status === "failed" || !v.src) {
      wait.textContent = "Failed" + (v.error ? ": " + v.error : "");
      wait.classList.add("error");
      return;
    }
    var img = document.createElement("img");
    img.className = "gen-image";
    img.alt = "Variation with seed " + v.seed;
    img.src = v.src;
    li.dataset.src = v.src;
    var compare = document.createElement("button");
    compare.type = "button";
    compare.className = "gen-compare";
    compare.textContent = "Compare";
    compare.title = "Show the current result in place of this variation (hover, or press to toggle)";
    compare.setAttribute("aria-pressed", "false");
    compare.addEventListener("mouseenter", function () { setCompare(li, true); });
    compare.addEventListener("mouseleave", function () { if (compare.dataset.held !== "1") setCompare(li, false); });
    compare.addEventListener("click", function (event) {
      event.stopPropagation();
      var on = compare.dataset.held !== "1";
      compare.dataset.held = on ? "1" : "0";
      setCompare(li, on);
    });
    li.replaceChild(img, wait);
    li.insertBefore(compare, li.firstChild);
    li.dataset.ready = "1";
  }

  function draw(state) {
    state.variations.forEach(function (v) {
      if (dismissed[v.id]) return;
      var li = cards[v.id] || makeCard(v);
      fillCard(li, v);
    });
    empty.hidden = grid.children.length > 0;
    showProgress();
  }

  function poll(id) {
    var batch = batches[id];
    if (batch.state.status !== "pending" && batch.state.status !== "processing") return;
    if (batch.polls++ > POLL_LIMIT) {
      problem("The variations are taking long; reload this page later to see them.");
      return;
    }
    setTimeout(function () {
      call("GET", config.batch.replace("/ID/", "/" + encodeURIComponent(id) + "/")).then(function (state) {
        batch.state = state;
        draw(state);
        poll(id);
      }, function (err) {
        problem(err.message);
      });
    }, POLL_MS);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    problem("");
    var count = parseInt(countInput.value, 10);
    var body = { count: count };
    if (promptInput && !promptInput.disabled && promptInput.value.trim()) body.prompt = promptInput.value.trim();
    transform.disabled = true;
    statusOut.textContent = "Asking for " + count + " variation" + (count === 1 ? "" : "s") + "…";
    progress.hidden = false;
    call("POST", config.generate, body).then(function (state) {
      transform.disabled = false;
      batches[state.id] = { state: state, polls: 0 };
      draw(state);
      poll(state.id);
    }, function (err) {
      transform.disabled = false;
      problem(err.message);
      showProgress();
    });
  });

  update.addEventListener("click", function () {
    if (selected === null) return;
    problem("");
    update.disabled = true;
    selectedOut.textContent = "Updating the transformation…";
    call("POST", config.choose, { variation: selected }).then(function (answer) {
      window.location.assign(answer.back || config.back);
    }, function (err) {
      update.disabled = false;
      problem(err.message);
      select(selected);
    });
  });

  // the current result may still be generating (423): ask again every 2 s until it is there
  var currentTries = 0, currentSrc = current.getAttribute("src");
  function retryCurrent() {
    if (currentTries++ > 300) return;  // ten minutes
    setTimeout(function () {
      current.src = currentSrc + (currentSrc.indexOf("?") < 0 ? "?" : "&") + "try=" + currentTries;
    }, 2000);
  }
  current.addEventListener("error", retryCurrent);
  if (current.complete && current.naturalWidth === 0) retryCurrent();  // it failed before this script ran

  root.dataset.ready = "1";
})();
