/* Forms built from a layer's field list (the snapshot's, else the shell's schema copy),
 * read back into typed values, and the photo resized on the phone. */
(function (global) {
  "use strict";
  const t = (k) => I18n.t(k);
  // filled by the server or the app itself, not typed in the field
  const HIDDEN = new Set(["id", "source", "confidentiality", "created_at", "updated_at",
                          "commune_code", "is_border", "geocode_quality"]);
  const MAX_PHOTO_PX = 1280;
  const PHOTO_QUALITY = 0.8;

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    (children || []).forEach((c) => c && e.appendChild(c));
    return e;
  }

  /** Choices as [value, words]: objects from the snapshot, or plain values with the words
   *  of the shell's value table (never a bare code when words exist). */
  function choices(field, valueWords) {
    return (field.choices || []).map((c) => {
      if (c && typeof c === "object") {
        const words = I18n.lang === "en" ? (c.label_en || c.label_vi) : (c.label_vi || c.label_en);
        return [c.value, words || String(c.value)];
      }
      return [c, (valueWords || {})[c] || String(c)];
    });
  }
  function label(field) {
    return I18n.lang === "en" ? (field.label_en || field.label_vi || field.name)
                              : (field.label_vi || field.label_en || field.name);
  }

  /** One input per visible field; ``values`` fills them (an edit of an existing record). */
  function build(container, fields, values, valueWords) {
    container.textContent = "";
    for (const f of fields) {
      if (HIDDEN.has(f.name)) continue;
      const id = "gp-f-" + f.name;
      const v = values ? values[f.name] : undefined;
      let input;
      const opts = choices(f, (valueWords || {})[f.name]);
      if (opts.length || f.type === "bool") {
        const list = opts.length ? opts : [[true, t("yes")], [false, t("no")]];
        input = el("select", { id }, [el("option", { value: "", text: "—" })].concat(
          list.map(([val, words]) => el("option", { value: JSON.stringify(val), text: words }))));
        if (v !== undefined && v !== null) input.value = JSON.stringify(v);
      } else if (f.type === "date") {
        input = el("input", { id, type: "date" });
        if (v) input.value = String(v).slice(0, 10);
      } else if (f.type === "int" || f.type === "float") {
        input = el("input", { id, type: "text", inputmode: f.type === "int" ? "numeric" : "decimal" });
        if (v !== undefined && v !== null) input.value = I18n.lang === "vi" ? String(v).replace(".", ",") : String(v);
      } else {
        input = el(f.name === "findings" || f.name === "note" ? "textarea" : "input",
                   { id, type: "text", maxlength: f.max_length || 2000 });
        if (v !== undefined && v !== null) input.value = String(v);
      }
      input.dataset.field = f.name;
      input.dataset.type = f.type || "str";
      const req = f.required ? el("span", { class: "req", text: " *" }) : null;
      container.appendChild(el("div", { class: "fld" }, [
        el("label", { for: id }, [document.createTextNode(label(f)), req]), input]));
    }
  }

  function parseNumber(text, type) {
    const s = String(text).trim().replace(/\s/g, "");
    if (!s) return null;
    // "1.234,5" (Vietnamese) and "1234.5" both mean the same number; "4.033" typed on a
    // Vietnamese phone is four thousand and thirty-three
    const grouped = /^-?\d{1,3}(\.\d{3})+$/.test(s) && I18n.lang === "vi";
    const norm = s.includes(",") || grouped ? s.replace(/\./g, "").replace(",", ".") : s;
    const x = Number(norm);
    if (!isFinite(x)) return { error: text };
    return type === "int" ? Math.round(x) : x;
  }

  /** {values, problems}: typed values of every input; problems name the field. */
  function read(container, fields) {
    const values = {}, problems = [];
    const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
    container.querySelectorAll("[data-field]").forEach((input) => {
      const f = byName[input.dataset.field];
      let v = input.value;
      if (input.tagName === "SELECT") v = v === "" ? null : JSON.parse(v);
      else if (input.dataset.type === "int" || input.dataset.type === "float") {
        v = parseNumber(v, input.dataset.type);
        if (v && typeof v === "object") { problems.push(`${label(f)}: ${v.error}`); v = null; }
      } else v = v.trim() === "" ? null : v.trim();
      values[f.name] = v;
      if (f.required && (v === null || v === undefined)) problems.push(`${t("missing_required")}: ${label(f)}`);
    });
    return { values, problems };
  }

  /** The photo as a JPEG data URL whose longer side is at most 1280 px. */
  async function resizePhoto(file) {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_PHOTO_PX / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close && bitmap.close();
    return { dataUrl: canvas.toDataURL("image/jpeg", PHOTO_QUALITY),
             width: canvas.width, height: canvas.height };
  }

  global.FieldForm = { build, read, resizePhoto, el, label, choices, HIDDEN, MAX_PHOTO_PX };
})(self);
