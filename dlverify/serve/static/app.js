// The answer page: a preview as the student types (POST /api/read), the verdict on Check
// (POST /api/check), a whole submission graded (POST /api/grade).  Text from the server or the
// student is inserted as text; only the MathML the server's printers made is inserted as markup.
"use strict";

const MATHML = "http://www.w3.org/1998/Math/MathML";
const DEBOUNCE_MS = 250;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function mathNode(tag, text) {
  const node = document.createElementNS(MATHML, tag);
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function served(markup) {
  // MathML made by the server's printers (every piece of text in it escaped there)
  const box = el("span", "math");
  box.innerHTML = markup || "";
  return box;
}

// A counterexample's value: a number, a string ("nan") or nested lists (a matrix), typeset.
function valueMath(value) {
  const math = mathNode("math");
  math.appendChild(valueRow(value));
  return math;
}

function valueRow(value) {
  if (Array.isArray(value)) {
    const rows = value.length && Array.isArray(value[0]) ? value : [value];
    const table = mathNode("mtable");
    for (const r of rows) {
      const tr = mathNode("mtr");
      for (const cell of (Array.isArray(r) ? r : [r])) {
        const td = mathNode("mtd");
        td.appendChild(valueRow(cell));
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    const row = mathNode("mrow");
    row.append(mathNode("mo", "["), table, mathNode("mo", "]"));
    return row;
  }
  if (typeof value === "number") {
    return mathNode("mn", Number.isInteger(value) ? value : Number(value.toPrecision(6)));
  }
  return mathNode("mtext", value);
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function answerOf(section) {
  const entries = section.querySelectorAll("input.entry");
  if (entries.length) {
    const table = {};
    for (const input of entries) table[input.dataset.entry] = input.value;
    return table;
  }
  const text = section.querySelector(".answer-text").value;
  const steps = section.querySelector(".as-steps");
  if (steps && steps.checked) return { steps: text };
  if (section.dataset.kind === "choice" && text.includes(";")) {
    return text.split(";").map((s) => s.trim()).filter((s) => s);
  }
  return text;
}

function isBlank(answer) {
  if (typeof answer === "string") return !answer.trim();
  if (Array.isArray(answer)) return answer.length === 0;
  if (answer.steps !== undefined) return !answer.steps.trim();
  return Object.values(answer).every((v) => !String(v).trim());
}

// the source with [start, end) marked: where the reading stopped, or an operand whose shape breaks it
function marked(source, start, end, cls) {
  const pre = el("pre", "source");
  const from = Math.max(0, Math.min(start, source.length));
  const to = Math.max(from + 1, Math.min(end === null || end === undefined ? from + 1 : end, source.length));
  pre.append(document.createTextNode(source.slice(0, from)));
  const mark = el("mark", cls, source.slice(from, to) || " ");
  pre.append(mark, document.createTextNode(source.slice(to)));
  return pre;
}

function renderPart(part, source) {
  const box = el("div", "part" + (part.ok ? " ok" : " not-ok"));
  if (part.label) box.appendChild(el("div", "part-label", part.label));
  if (part.lhs_mathml || part.mathml) {
    const reading = el("div", "reading");
    if (part.lhs_mathml) {
      reading.append(served(part.lhs_mathml), el("span", "equals", " = "));
    }
    if (part.mathml) reading.appendChild(served(part.mathml));
    box.appendChild(reading);
  }
  if (part.shape) {
    const line = el("p", "shape", "shape: " + part.shape);
    if (part.expected) line.appendChild(el("span", "expected", " (the item asks for " + part.expected + ")"));
    box.appendChild(line);
  }
  if (part.error) {
    box.appendChild(el("p", "error", part.error.message));
    if (part.error.start !== null && part.error.start !== undefined) {
      box.appendChild(marked(source, part.error.start, part.error.end, "error-at"));
    }
  }
  if (part.unknown && part.unknown.length) {
    const names = part.unknown.map((u) => u.name).join(", ");
    box.appendChild(el("p", "unknown", "not a symbol of this item: " + names));
    const first = part.unknown[0];
    box.appendChild(marked(source, first.start, first.end, "unknown-at"));
  }
  if (part.products && part.products.length) {
    const list = el("ul", "products");
    for (const p of part.products) {
      const li = el("li");
      const tag = p.kind.startsWith("matrix") ? "tag-matrix" : "tag-entrywise";
      li.append(el("span", "tag " + tag, p.kind), served(p.mathml));
      const joint = p.kind === "matrix product" ? " · " : " ⊙ ";
      li.append(el("span", "shapes", " (" + p.operands.join(")" + joint + "(") + ") → " + p.shape));
      list.appendChild(li);
    }
    box.appendChild(list);
  }
  if (part.transposes && part.transposes.length) {
    const list = el("ul", "transposes");
    for (const t of part.transposes) {
      const li = el("li");
      li.append(el("span", "tag tag-transpose", "transpose of"), served(t.mathml));
      li.append(el("span", "shapes", " " + t.from + " → " + t.to));
      list.appendChild(li);
    }
    box.appendChild(list);
  }
  for (const d of part.derivatives || []) {
    const line = el("p", "derivative");
    line.append(served(d.mathml), document.createTextNode(" read as " + d.read_as + " (numerator layout)"));
    box.appendChild(line);
  }
  for (const note of part.notes || []) box.appendChild(el("p", "note", note));
  return box;
}

function renderPreview(section, data, answer) {
  const box = section.querySelector(".preview");
  box.replaceChildren();
  if (data.failed) {
    box.appendChild(el("p", "note", data.failed));
    return;
  }
  if (data.note) box.appendChild(el("p", "note", data.note));
  const sources = {};
  if (answer && typeof answer === "object" && !Array.isArray(answer)) {
    for (const [k, v] of Object.entries(answer)) sources[k] = v;
  }
  for (const part of data.parts || []) {
    const source = answer && answer.steps !== undefined ? answer.steps
      : typeof answer === "string" ? answer : (sources[part.label] || part.source || "");
    box.appendChild(renderPart(part, source));
  }
}

function renderCounterexample(ce) {
  const box = el("div", "counterexample");
  if (ce.at) {
    const names = ce.relevant && ce.relevant.length ? ce.relevant.filter((n) => n in ce.at) : Object.keys(ce.at);
    const table = el("table", "witness");
    for (const name of names.slice(0, 12)) {
      const tr = el("tr");
      const value = el("td");
      value.appendChild(valueMath(ce.at[name]));
      tr.append(el("th", null, name), value);
      table.appendChild(tr);
    }
    box.append(el("p", null, "at:"), table);
  }
  if (ce.entry) box.appendChild(el("p", null, "entry [" + ce.entry.join(", ") + "]"));
  const values = el("p", "values");
  if (ce.answer_value !== undefined) {
    values.append(document.createTextNode("the answer: "), valueMath(ce.answer_value));
  }
  if (ce.reference_value !== undefined) {
    values.append(document.createTextNode("   the reference: "), valueMath(ce.reference_value));
  }
  if (values.childNodes.length) box.appendChild(values);
  return box;
}

function renderVerdict(section, v) {
  const box = section.querySelector(".verdict");
  box.replaceChildren();
  const head = el("p", "verdict-head verdict-" + v.verdict);
  head.append(el("strong", "verdict-word", v.verdict));
  if (v.max_score) head.append(document.createTextNode("  score " + (v.score * v.max_score) + " / " + v.max_score));
  box.appendChild(head);
  box.appendChild(el("p", "message", v.message));
  if (v.diagnosis) box.appendChild(el("p", "diagnosis", v.diagnosis));
  if (v.lines && v.lines.length) {
    const list = el("ol", "lines");
    for (const line of v.lines) {
      const mark = line.holds === true ? "✓" : line.holds === false ? "✗" : "·";
      const li = el("li", line.line === v.step ? "first-wrong" : line.holds ? "holds" : "");
      li.append(el("span", "mark", mark + " "), el("code", null, line.source));
      if (line.message && line.line === v.step) li.appendChild(el("div", "line-message", line.message));
      list.appendChild(li);
    }
    box.appendChild(list);
  }
  if (v.entries) {
    const list = el("ul", "entries");
    for (const [name, entry] of Object.entries(v.entries)) {
      list.appendChild(el("li", "verdict-" + entry.verdict, name + ": " + entry.verdict + " — " + entry.message));
    }
    box.appendChild(list);
  }
  if (v.counterexample) box.appendChild(renderCounterexample(v.counterexample));
}

function wire(section) {
  const id = section.dataset.id;
  let timer = null;
  let asked = 0;
  const preview = async () => {
    const answer = answerOf(section);
    const mine = ++asked;
    if (section.dataset.previewed !== "1" || isBlank(answer)) {
      section.querySelector(".preview").replaceChildren();
      return;
    }
    try {
      const data = await post("/api/read", { id, answer });
      if (mine === asked) renderPreview(section, data, answer); // a later keystroke's preview wins
    } catch (err) {
      if (mine === asked) section.querySelector(".preview").replaceChildren(el("p", "note", err.message));
    }
  };
  const typed = () => {
    clearTimeout(timer);
    timer = setTimeout(preview, DEBOUNCE_MS);
  };
  for (const input of section.querySelectorAll("textarea, input.entry, input.as-steps")) {
    input.addEventListener("input", typed);
    input.addEventListener("change", typed);
  }
  const button = section.querySelector("button.check");
  button.addEventListener("click", async () => {
    const box = section.querySelector(".verdict");
    box.replaceChildren(el("p", "pending", "checking…"));
    button.disabled = true;
    try {
      renderVerdict(section, await post("/api/check", { id, answer: answerOf(section) }));
    } catch (err) {
      box.replaceChildren(el("p", "error", err.message));
    } finally {
      button.disabled = false;
    }
  });
}

function wireUpload() {
  const button = document.getElementById("upload-button");
  const input = document.getElementById("upload-file");
  const out = document.getElementById("upload-result");
  button.addEventListener("click", async () => {
    const file = input.files[0];
    if (!file) {
      out.replaceChildren(el("p", "note", "choose a file first"));
      return;
    }
    out.replaceChildren(el("p", "pending", "grading…"));
    try {
      const response = await fetch("/api/grade?name=" + encodeURIComponent(file.name), {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: file,
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      const table = el("table", "graded");
      const head = el("tr");
      head.append(el("th", null, "item"), el("th", null, "verdict"), el("th", null, "score"), el("th", null, "message"));
      table.appendChild(head);
      for (const v of data.results) {
        const tr = el("tr", "verdict-" + v.verdict);
        tr.append(el("td", null, v.id), el("td", "verdict-word", v.verdict),
          el("td", null, (v.score * v.max_score) + " / " + v.max_score), el("td", null, v.message));
        table.appendChild(tr);
      }
      const total = el("p", "total", data.name + ": " + data.score + " / " + data.max_score);
      out.replaceChildren(total, table);
      for (const note of data.notes || []) out.appendChild(el("p", "note", note));
    } catch (err) {
      out.replaceChildren(el("p", "error", err.message));
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const section of document.querySelectorAll("section.item")) wire(section);
  wireUpload();
});
