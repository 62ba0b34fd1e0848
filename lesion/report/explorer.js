// The report's interactive views (lesion/report/explorer.py writes their data): the pair view, whose confusion
// cells list their most confident test images on hover or click, and the table of every effect, sortable and
// filterable. No library, no network: the data and the images are in the page.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("explorer-data").textContent);
  var classes = data.classes;
  var SHOWN_ROWS = 500; // effects table rows drawn at most (the count says how many match)
  var DENSE = classes.length > 20; // a matrix of more classes: small cells without numbers (hover still shows them)

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function number(value, digits) {
    if (value === null || value === undefined) return "";
    return Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(2)
      : value.toFixed(digits === undefined ? 3 : digits);
  }

  function signed(value, digits) {
    return value === null ? "" : (value > 0 ? "+" : "") + number(value, digits);
  }

  // A test image from the sprite sheet: slot = its place on the sheet, index = its index in the dataset's x_test.
  function thumb(slot) {
    var sprite = data.sprite, column = slot % sprite.columns, row = Math.floor(slot / sprite.columns);
    var index = sprite.indices[slot];
    var node = el("span", {"class": "thumb", "data-index": index, title: "test image " + index});
    node.style.backgroundPosition = (-sprite.scale * column * sprite.pitch[1]) + "px " +
      (-sprite.scale * row * sprite.pitch[0]) + "px";
    return node;
  }

  // ---- the pair view ----
  var views = data.views, clean = views.filter(function (v) { return v.condition === "clean"; })[0];
  var select = document.getElementById("pair-select");
  var mode = "model", pinned = null, current = null;

  function classTable(view) {
    var swapped = view.pair || [];
    var head = el("tr", {}, ["class", "accuracy: clean", "accuracy: " + view.condition, "difference",
      "loglik bits: clean", "loglik bits: " + view.condition, "difference"].map(function (h) {
      return el("th", {text: h});
    }));
    var rows = classes.map(function (name, c) {
      var cells = [el("td", {text: name})];
      ["accuracy", "loglik_bits"].forEach(function (column) {
        var mine = view.classes[column], base = clean ? clean.classes[column] : null;
        cells.push(el("td", {"class": "number", text: base ? number(base.mean[c]) : ""}));
        cells.push(el("td", {"class": "number", text: number(mine.mean[c]) +
          (mine.sd[c] === null ? "" : " \u00b1 " + number(mine.sd[c]))}));
        var diff = base ? mine.mean[c] - base.mean[c] : null;
        var cell = el("td", {"class": "number diff", text: view === clean ? "" : signed(diff)});
        if (view !== clean && diff !== null) {
          var scale = column === "accuracy" ? 1 : 0.5;
          var bar = el("span", {"class": "bar " + (diff < 0 ? "worse" : "better")});
          bar.style.width = Math.min(60, Math.round(60 * Math.abs(diff) / scale)) + "px";
          cell.insertBefore(bar, cell.firstChild);
        }
        cells.push(cell);
      });
      return el("tr", {"class": swapped.indexOf(name) >= 0 ? "swapped" : ""}, cells);
    });
    var note = el("p", {"class": "caption", text: "Means \u00b1 standard deviation over the " + view.classes.n +
      " models of " + view.condition + (clean && view !== clean ? " against the " + clean.classes.n +
      " clean models" : "") + "; highlighted rows are the swapped pair's classes."});
    return el("div", {}, [el("table", {"class": "class-table"}, [el("thead", {}, [head]),
      el("tbody", {}, rows)]), note]);
  }

  function cellColour(view, t, p) {
    if (mode === "contrast") {
      var value = view.contrast[t][p], total = clean.classes.n ? rowTotal(clean, t) : 1;
      var share = Math.max(-1, Math.min(1, value / Math.max(1, total) * 4));
      return share >= 0 ? "rgba(200,40,40," + share + ")" : "rgba(40,80,200," + (-share) + ")";
    }
    var count = view.cells.count[t][p];
    return "rgba(40,70,160," + (count / Math.max(1, rowTotal(view, t))) + ")";
  }

  function rowTotal(view, t) {
    return view.cells.count[t].reduce(function (a, b) { return a + b; }, 0);
  }

  function matrix(view) {
    var head = el("tr", {}, [el("th", {text: "true \\ predicted"})].concat(classes.map(function (name) {
      return el("th", {"class": "column-name"}, [el("span", {text: name})]);
    })));
    var rows = classes.map(function (name, t) {
      return el("tr", {}, [el("th", {text: name})].concat(classes.map(function (_, p) {
        var text = mode === "contrast" ? signed(view.contrast[t][p], 1) : String(view.cells.count[t][p]);
        var td = el("td", {"data-t": t, "data-p": p, text: DENSE ? "" : text, title: classes[t] + " as " +
          classes[p] + ": " + text});
        td.style.background = cellColour(view, t, p);
        if (mode !== "contrast" && view.cells.count[t][p] / Math.max(1, rowTotal(view, t)) > 0.5) {
          td.style.color = "white";
        }
        return td;
      })));
    });
    var table = el("table", {"class": DENSE ? "matrix dense" : "matrix", id: "matrix"},
      [el("thead", {}, [head]), el("tbody", {}, rows)]);
    table.addEventListener("mouseover", function (event) {
      var td = event.target.closest("td[data-t]");
      if (td && pinned === null) showCell(view, +td.dataset.t, +td.dataset.p);
    });
    table.addEventListener("click", function (event) {
      var td = event.target.closest("td[data-t]");
      if (!td) return;
      var key = td.dataset.t + "," + td.dataset.p;
      Array.prototype.forEach.call(table.querySelectorAll("td.pinned"), function (n) { n.classList.remove("pinned"); });
      pinned = pinned === key ? null : key;
      if (pinned !== null) td.classList.add("pinned");
      showCell(view, +td.dataset.t, +td.dataset.p);
    });
    return table;
  }

  function topImages(view, t, p, label) {
    var top = view.cells.top[t][p], count = view.cells.count[t][p];
    var heading = el("div", {"class": "cell-heading", text: label + " (model " + view.model + ", trial " +
      view.trial + "): " + count + " test image" + (count === 1 ? "" : "s") +
      (top.length === 0 && count > 0 ? " (none kept: evaluate.top_images is 0)" :
        top.length < count ? ", the " + top.length + " most confident" : "")});
    var images = top.map(function (entry) {
      return el("figure", {"class": "top-image"}, [thumb(entry[0]),
        el("figcaption", {"class": "prob", text: entry[1].toFixed(3)})]);
    });
    return el("div", {"class": "cell-models"}, [heading, el("div", {"class": "thumbs"}, images.length ? images :
      [el("span", {"class": "caption", text: "no image"})])]);
  }

  function showCell(view, t, p) {
    var panel = document.getElementById("cell-panel");
    panel.textContent = "";
    panel.appendChild(el("h4", {text: "True " + classes[t] + ", predicted " + classes[p] +
      ": ordered by the probability of " + classes[p] + ", shown under each image"}));
    panel.appendChild(topImages(view, t, p, view.condition));
    if (mode === "contrast" && clean) {
      panel.appendChild(topImages(clean, t, p, "clean"));
      panel.appendChild(el("p", {"class": "caption", text: "Mean count over the " + view.condition +
        " models minus the clean models': " + signed(view.contrast[t][p], 2)}));
    }
    panel.dataset.cell = t + "," + p;
  }

  function pictures(view) {
    if (!view.pictures.length) {
      return el("p", {"class": "note", text: "The visualize stage draws this model only when its pair is in " +
        "visualize.pairs (and the clean model of visualize.trial)."});
    }
    return el("div", {}, view.pictures.map(function (picture) {
      return el("figure", {}, [el("img", {src: picture.picture, alt: picture.heading}),
        el("figcaption", {text: picture.heading + ". " + picture.caption})]);
    }));
  }

  function renderPair() {
    var view = views[+select.value];
    current = view;
    pinned = null;
    if (mode === "contrast" && (!view.contrast || !clean)) mode = "model";
    document.getElementById("mode-contrast").disabled = !view.contrast;
    document.getElementById("mode-" + mode).checked = true;
    ["pair-classes", "pair-matrix", "pair-pictures"].forEach(function (id) {
      document.getElementById(id).textContent = "";
    });
    document.getElementById("pair-classes").appendChild(classTable(view));
    document.getElementById("pair-matrix").appendChild(matrix(view));
    document.getElementById("pair-pictures").appendChild(pictures(view));
    var panel = document.getElementById("cell-panel");
    panel.textContent = "Hover over a cell to see its most confident test images; click to keep them.";
    delete panel.dataset.cell;
  }

  views.forEach(function (view, i) {
    select.appendChild(el("option", {value: i, text: view.condition === "clean" ? "clean (no swap)" :
      view.condition + " swapped"}));
  });
  select.value = Math.max(0, views.indexOf(views.filter(function (v) { return v.pair; })[0])); // a lesion first
  select.addEventListener("change", renderPair);
  ["model", "contrast"].forEach(function (name) {
    document.getElementById("mode-" + name).addEventListener("change", function () {
      mode = name;
      document.getElementById("pair-matrix").textContent = "";
      document.getElementById("pair-matrix").appendChild(matrix(current));
      var key = pinned !== null ? pinned : document.getElementById("cell-panel").dataset.cell;
      if (!key) return; // no cell shown yet
      var cell = key.split(","); // the kept cell stays kept, the one last hovered stays shown, both in this mode
      if (pinned !== null) {
        document.querySelector('#matrix td[data-t="' + cell[0] + '"][data-p="' + cell[1] + '"]')
          .classList.add("pinned");
      }
      showCell(current, +cell[0], +cell[1]);
    });
  });
  renderPair();

  // ---- the effects table ----
  var effects = data.effects.rows.map(function (values) { // rows of values -> objects by field name
    var row = {};
    data.effects.fields.forEach(function (field, i) { row[field] = values[i]; });
    return row;
  });
  var sortKey = "p_fdr", ascending = true;
  var COLUMNS = [["family", "family"], ["target", "target"], ["confused", "confused"], ["estimate", "estimate"],
    ["unit", "unit"], ["lo", "95% interval"], ["t", "t"], ["p", "p"], ["p_fdr", "p (FDR)"],
    ["significant", "significant"], ["figure", "figure"]];
  var filters = {family: document.getElementById("filter-family"), target: document.getElementById("filter-target"),
    confused: document.getElementById("filter-confused")};
  var onlySignificant = document.getElementById("filter-significant");

  function options(node, values, all) {
    node.appendChild(el("option", {value: "", text: all}));
    values.forEach(function (value) { node.appendChild(el("option", {value: value, text: value})); });
  }
  options(filters.family, Object.keys(data.families), "every family");
  options(filters.target, classes, "every target");
  options(filters.confused, classes, "every confused class");

  function compare(a, b) {
    var x = a[sortKey], y = b[sortKey];
    if (x === y) return 0;
    if (x === null || x === "") return 1; // blanks last either way
    if (y === null || y === "") return -1;
    var order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
    return ascending ? order : -order;
  }

  function renderEffects() {
    var shown = effects.filter(function (row) {
      return Object.keys(filters).every(function (key) {
        return !filters[key].value || row[key] === filters[key].value;
      }) && (!onlySignificant.checked || row.significant);
    });
    shown.sort(compare);
    var body = document.querySelector("#effects-table tbody");
    body.textContent = "";
    shown.slice(0, SHOWN_ROWS).forEach(function (row) {
      var link = row.figure ? el("a", {href: "#figure-" + row.figure, text: row.figure.replace(".png", "")}) : null;
      body.appendChild(el("tr", {"class": row.significant ? "significant" : ""}, [
        el("td", {text: row.family, title: data.families[row.family]}), el("td", {text: row.target}),
        el("td", {text: row.confused}), el("td", {"class": "number", text: number(row.estimate)}),
        el("td", {text: row.unit}),
        el("td", {"class": "number", text: row.lo === null ? "" : "[" + number(row.lo) + ", " + number(row.hi) + "]"}),
        el("td", {"class": "number", text: number(row.t, 2)}), el("td", {"class": "number", text: number(row.p)}),
        el("td", {"class": "number", text: number(row.p_fdr)}), el("td", {text: row.significant ? "yes" : ""}),
        el("td", {}, [link])]));
    });
    document.getElementById("effects-count").textContent = shown.length + " of " + effects.length +
      " effects match" + (shown.length > SHOWN_ROWS ? "; the first " + SHOWN_ROWS + " are shown" : "") +
      ". Sorted by " + sortKey + (ascending ? ", ascending" : ", descending") + "; click a heading to sort.";
  }

  var headRow = document.querySelector("#effects-table thead tr");
  COLUMNS.forEach(function (column) {
    var th = el("th", {"data-key": column[0], text: column[1]});
    th.addEventListener("click", function () {
      ascending = sortKey === column[0] ? !ascending : true;
      sortKey = column[0];
      Array.prototype.forEach.call(headRow.children, function (h) {
        h.textContent = h.dataset.label + (h.dataset.key === sortKey ? (ascending ? " \u25b2" : " \u25bc") : "");
      });
      renderEffects();
    });
    th.dataset.label = column[1];
    headRow.appendChild(th);
  });
  Object.keys(filters).forEach(function (key) { filters[key].addEventListener("change", renderEffects); });
  onlySignificant.addEventListener("change", renderEffects);
  renderEffects();
})();
