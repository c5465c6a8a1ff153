// matchsim lookup explorer: the engine's normalisation, blocking, comparison levels and
// Fellegi-Sunter scores, on the register slice embedded in this page. Every rule below
// mirrors matchsim's Python code (matchsim/records.py, comparison/comparisons.py,
// matchers/matchers.py, decision.py); a browser test checks both give the same levels and
// probabilities. Data is shown with textContent only, never parsed as HTML.
(function () {
  'use strict';
  const DATA = JSON.parse(document.getElementById('explorer-data').textContent);
  const MODEL = DATA.model;

  // ---------------------------------------------------------------- normalisation (records.py)
  const UNDECOMPOSABLE = { 'Ł': 'L', 'Ø': 'O', 'Đ': 'D', 'Æ': 'AE', 'Œ': 'OE', 'Þ': 'TH', 'ß': 'SS', 'ẞ': 'SS' };
  const ADDRESS_ABBREVIATIONS = [
    ['RD', 'ROAD'], ['ST', 'STREET'], ['AVE', 'AVENUE'], ['AV', 'AVENUE'], ['LN', 'LANE'],
    ['DR', 'DRIVE'], ['CL', 'CLOSE'], ['CRES', 'CRESCENT'], ['GDNS', 'GARDENS'], ['PL', 'PLACE'],
    ['CT', 'COURT'], ['TERR', 'TERRACE'], ['TER', 'TERRACE'], ['SQ', 'SQUARE'], ['GR', 'GROVE'],
    ['PK', 'PARK'],
  ].map(([s, l]) => [new RegExp('\\b' + s + '\\b', 'g'), l]);

  function letters(value) {
    return value.toUpperCase().normalize('NFKD').replace(/\p{Mn}+/gu, '')
      .replace(/[ŁØĐÆŒÞßẞ]/g, (c) => UNDECOMPOSABLE[c]);
  }
  function normaliseName(value) {
    if (value == null) return null;
    const text = letters(String(value)).replace(/-/g, ' ').replace(/[^A-Z ]+/g, ' ')
      .split(' ').filter(Boolean).join(' ');
    return text || null;
  }
  function normalisePostcode(value) {
    if (value == null) return null;
    return String(value).toUpperCase().replace(/[^A-Z0-9]/g, '') || null;
  }
  function normaliseAddress(value) {
    if (value == null) return null;
    let text = String(value).toUpperCase();
    if (/[^\x00-\x7f]/.test(text)) text = letters(text);
    text = text.replace(/[^A-Z0-9]+/g, ' ');
    for (const [pattern, long] of ADDRESS_ABBREVIATIONS) text = text.replace(pattern, long);
    return text.trim() || null;
  }
  function parseDate(value) {
    const m = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/.exec(value || '');
    if (!m) return null;
    const y = +m[1], mo = +m[2], d = +m[3];
    const t = Date.UTC(y, mo - 1, d);
    const back = new Date(t);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
    return { y: y, m: mo, d: d, days: Math.round(t / 86400000), iso: m[1] + '-' + m[2] + '-' + m[3] };
  }
  function normaliseSex(value) {
    const first = String(value || '').toUpperCase().charAt(0);
    return first === 'M' ? 0 : first === 'F' ? 1 : -1;
  }
  /** A request (raw text, as typed) as the engine reads it. */
  function normaliseRequest(raw) {
    return {
      forename: normaliseName(raw.forename),
      middle_names: normaliseName(raw.middle_names),
      surname: normaliseName(raw.surname),
      postcode: normalisePostcode(raw.postcode),
      address: normaliseAddress(raw.address_line),
      dob: parseDate(raw.date_of_birth),
      sex: normaliseSex(raw.sex),
    };
  }

  // ---------------------------------------------------------------- derived keys
  const SOUNDEX_DIGIT = {};
  for (const [group, digit] of [['BFPV', 1], ['CGJKQSXZ', 2], ['DT', 3], ['L', 4], ['MN', 5], ['R', 6]]) {
    for (const c of group) SOUNDEX_DIGIT[c] = digit;
  }
  SOUNDEX_DIGIT.H = -1; SOUNDEX_DIGIT.W = -1;
  /** Soundex of the first word (jellyfish.soundex, as records._soundex_keys reproduces it). */
  function soundex(name) {
    if (!name) return null;
    const word = name.split(' ')[0];
    if (!word) return null;
    const digit = (c) => SOUNDEX_DIGIT[c] || 0;
    let code = word[0];
    let last = Math.max(digit(word[0]), 0);
    for (let k = 1; k < word.length && code.length < 4; k++) {
      const d = digit(word[k]);
      if (d > 0 && d !== last) code += d;
      if (d > 0) last = d; else if (d === 0) last = 0;
    }
    return code.padEnd(4, '0');
  }
  function derived(value, kind) {
    if (value == null) return null;
    switch (kind) {
      case '': return value;
      case 'soundex': return soundex(value);
      case 'initial': return value.slice(0, 1) || null;
      case 'first3': return value.slice(0, 3) || null;
      case 'sector': return value.slice(0, -2) || null;
      case 'district': return value.slice(0, -3) || null;
      case 'area': { const m = /^[A-Z]+/.exec(value); return m ? m[0] : null; }
      default: throw new Error('unknown key ' + kind);
    }
  }
  /** A blocking key part (``surname:soundex``, ``dob``, ``birth_year``...) of a record. */
  function keyPart(rec, part) {
    // Register records keep their keys: a keystroke re-blocks the whole slice.
    const memo = rec.keys;
    if (memo) {
      if (!(part in memo)) memo[part] = computeKeyPart(rec, part);
      return memo[part];
    }
    return computeKeyPart(rec, part);
  }
  function computeKeyPart(rec, part) {
    if (part === 'dob') return rec.dob ? rec.dob.iso : null;
    if (part === 'birth_year') return rec.dob ? rec.dob.y : null;
    if (part === 'birth_month') return rec.dob ? rec.dob.m : null;
    if (part === 'birth_day') return rec.dob ? rec.dob.d : null;
    if (part === 'sex') return rec.sex >= 0 ? rec.sex : null;
    const [role, kind] = part.split(':');
    return derived(rec[role], kind || '');
  }

  // ---------------------------------------------------------------- similarities (rapidfuzz)
  /** Jaro similarity, as rapidfuzz computes it (distance/Jaro_py.py). */
  function jaro(s1, s2) {
    const a = Array.from(s1), b = Array.from(s2);
    const pLen = a.length, tLen = b.length;
    if (!pLen && !tLen) return 1.0;
    if (!pLen || !tLen) return 0.0;
    if (pLen === 1 && tLen === 1) return a[0] === b[0] ? 1.0 : 0.0;
    let bound, p = a, t = b;
    if (tLen > pLen) {
      bound = Math.floor(tLen / 2) - 1;
      if (tLen > pLen + bound) t = b.slice(0, pLen + bound);
    } else {
      bound = Math.floor(pLen / 2) - 1;
      if (pLen > tLen + bound) p = a.slice(0, tLen + bound);
    }
    const pFlags = new Array(pLen).fill(false), tFlags = new Array(tLen).fill(false);
    let common = 0;
    for (let i = 0; i < p.length; i++) {
      const lo = Math.max(0, i - bound), hi = Math.min(i + bound, tLen - 1);
      for (let j = lo; j <= hi; j++) {
        if (!tFlags[j] && t[j] === p[i]) { pFlags[i] = tFlags[j] = true; common++; break; }
      }
    }
    if (!common) return 0.0;
    let k = 0, trans = 0;
    for (let i = 0; i < pLen; i++) {
      if (!pFlags[i]) continue;
      let j = k;
      for (; j < tLen; j++) { if (tFlags[j]) { k = j + 1; break; } }
      if (p[i] !== t[j]) trans++;
    }
    trans = Math.floor(trans / 2);
    let sim = 0.0;
    sim += common / pLen;
    sim += common / tLen;
    sim += (common - trans) / common;
    return sim / 3.0;
  }
  /** Jaro-Winkler similarity (prefix weight 0.1, at most four letters), as rapidfuzz. */
  function jaroWinkler(s1, s2) {
    const a = Array.from(s1), b = Array.from(s2);
    const maxPrefix = Math.min(a.length, b.length, 4);
    let prefix = 0;
    while (prefix < maxPrefix && a[prefix] === b[prefix]) prefix++;
    let sim = jaro(s1, s2);
    if (sim > 0.7) {
      sim += prefix * 0.1 * (1.0 - sim);
      sim = Math.min(sim, 1.0);
    }
    return sim;
  }
  /** Longest common subsequence length (for the Indel distance). */
  function lcs(a, b) {
    const row = new Array(b.length + 1).fill(0);
    for (let i = 1; i <= a.length; i++) {
      let diag = 0;
      for (let j = 1; j <= b.length; j++) {
        const up = row[j];
        row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(row[j], row[j - 1]);
        diag = up;
      }
    }
    return row[b.length];
  }
  function normDistance(dist, lensum) {
    return lensum ? 100 - (100 * dist) / lensum : 100;
  }
  /** rapidfuzz's fuzz.token_set_ratio (0-100), as in fuzz_py.py. */
  function tokenSetRatio(s1, s2) {
    const ta = new Set(s1.split(/\s+/).filter(Boolean)), tb = new Set(s2.split(/\s+/).filter(Boolean));
    if (!ta.size || !tb.size) return 0;
    const inter = [...ta].filter((x) => tb.has(x));
    const ab = [...ta].filter((x) => !tb.has(x)).sort();
    const ba = [...tb].filter((x) => !ta.has(x)).sort();
    if (inter.length && (!ab.length || !ba.length)) return 100;
    const abJ = Array.from(ab.join(' ')), baJ = Array.from(ba.join(' '));
    const sectLen = Array.from(inter.join(' ')).length;
    const sectAb = sectLen + (sectLen !== 0 ? 1 : 0) + abJ.length;
    const sectBa = sectLen + (sectLen !== 0 ? 1 : 0) + baJ.length;
    const dist = abJ.length + baJ.length - 2 * lcs(abJ, baJ);
    const result = normDistance(dist, sectAb + sectBa);
    if (!sectLen) return result;
    const abRatio = normDistance((sectLen !== 0 ? 1 : 0) + abJ.length, sectLen + sectAb);
    const baRatio = normDistance((sectLen !== 0 ? 1 : 0) + baJ.length, sectLen + sectBa);
    return Math.max(result, abRatio, baRatio);
  }
  // The engine keeps similarities as float32 and compares them with float32 thresholds.
  const f32 = Math.fround;

  // ---------------------------------------------------------------- comparison levels
  function nameLevel(c, req, rec) {
    const a = req[c.role], b = rec[c.role];
    if (a == null || b == null) return 0;
    const elseLevel = c.levels.length - 1;
    let level = elseLevel;
    if (a === b) {
      level = 1 + c.rules.findIndex((r) => r.rule === 'exact');
    } else {
      const sim = f32(c.similarity === 'jaro' ? jaro(a, b) : jaroWinkler(a, b));
      for (let i = 0; i < c.rules.length; i++) {
        const r = c.rules[i];
        let hit = false;
        if (r.rule === 'similarity') hit = sim >= f32(r.threshold);
        else if (r.rule === 'soundex' || r.rule === 'first3' || r.rule === 'initial') {
          const ka = derived(a, r.rule);
          hit = ka != null && ka === derived(b, r.rule);
        }
        if (hit) { level = i + 1; break; }
      }
    }
    const swapped = c.rules.findIndex((r) => r.rule === 'swapped');
    if (swapped >= 0 && level > swapped + 1) {
      const other = c.role === 'forename' ? 'surname' : 'forename';
      const lo = req[other], ro = rec[other];
      if (lo != null && ro != null && a === ro && lo === b) level = swapped + 1;
    }
    return level;
  }
  function digitsDiffering(x, y) {
    const w = (r) => String(r.d).padStart(2, '0') + String(r.m).padStart(2, '0') + String(r.y).padStart(4, '0');
    const a = w(x), b = w(y);
    let n = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
    return n;
  }
  function dobLevel(c, req, rec) {
    const a = req.dob, b = rec.dob;
    if (!a || !b) return 0;
    if (a.days === b.days) return 1;
    if (a.d === b.m && a.m === b.d && a.y === b.y) return 2;
    if (digitsDiffering(a, b) === 1) return 3;
    if (a.y === b.y && a.m === b.m) return 4;
    if (a.y === b.y) return 5;
    if (Math.abs(a.days - b.days) <= c.days) return 6;
    return 7;
  }
  /** 0 missing, 1 full, 2 sector, 3 district, 4 area, 5 else. */
  function postcodeLevel(req, rec) {
    const a = req.postcode, b = rec.postcode;
    if (a == null || b == null) return 0;
    if (a === b) return 1;
    const kinds = ['sector', 'district', 'area'];
    for (let i = 0; i < kinds.length; i++) {
      const ka = derived(a, kinds[i]);
      if (ka != null && ka === derived(b, kinds[i])) return i + 2;
    }
    return 5;
  }
  function addressSimilarity(a, b) {
    return f32(f32(tokenSetRatio(a, b)) * f32(0.01));
  }
  /** 0 missing, 1 exact, then 2 + the first threshold reached, else after them. */
  function addressLevel(thresholds, req, rec) {
    const a = req.address, b = rec.address;
    if (a == null || b == null) return 0;
    if (a === b) return 1;
    const sim = addressSimilarity(a, b);
    for (let j = 0; j < thresholds.length; j++) if (sim >= f32(thresholds[j])) return j + 2;
    return thresholds.length + 2;
  }
  function locationLevel(c, req, rec) {
    const pc = postcodeLevel(req, rec);
    const ad = DATA.register.address ? addressLevel([c.threshold], req, rec) : 0;
    const index = (name) => c.levels.indexOf(name);
    let out = c.levels.length - 1;
    if (pc === 3) out = index('district');
    if (pc === 2) out = index('sector');
    if (ad === 2) out = index('similar_address');
    if (pc === 1) out = index('postcode');
    if (pc === 1 && ad === 2) out = index('postcode_and_similar_address');
    if (ad === 1) out = index('address');
    if (pc === 1 && ad === 1) out = index('address_and_postcode');
    if (pc === 0 && ad === 0) out = 0;
    return out;
  }
  function level(c, req, rec) {
    switch (c.kind) {
      case 'name': return nameLevel(c, req, rec);
      case 'date_of_birth': return dobLevel(c, req, rec);
      case 'postcode': return postcodeLevel(req, rec);
      case 'address': return addressLevel(c.thresholds, req, rec);
      case 'location': return locationLevel(c, req, rec);
      case 'sex': return req.sex < 0 || rec.sex < 0 ? 0 : req.sex === rec.sex ? 1 : 2;
      default: throw new Error('unknown comparison ' + c.kind);
    }
  }

  // ---------------------------------------------------------------- the register slice
  const REG = DATA.register;
  function column(name, i) {
    const col = REG[name];
    if (!col) return null;
    const code = col.codes[i];
    return code >= 0 ? col.values[code] : null;
  }
  const RECORDS = REG.id.map((id, i) => {
    const iso = column('date_of_birth', i);
    return {
      row: i,
      id: id,
      forename: column('forename', i),
      middle_names: column('middle_names', i),
      surname: column('surname', i),
      postcode: column('postcode', i),
      address: column('address', i),
      dob: iso ? parseDate(iso) : null,
      sex: REG.sex[i],
      keys: {},
    };
  });

  // ---------------------------------------------------------------- scores (matchers.py)
  /** The pair's place stratum (FellegiSunter._strata_of): its level of the place comparison
   * when u was measured among records sharing that place, else -1. */
  function stratumOf(levels) {
    if (!MODEL.place) return -1;
    const at = levels[MODEL.place.comparison];
    return MODEL.place.strata.indexOf(at) >= 0 ? at : -1;
  }
  /** Levels, weights and total weight of a (normalised) request against a register record,
   * as FellegiSunter.weight_terms and match_weights compute them: the prior, then each
   * comparison's term in order; u (and so the weight) is the one measured among records
   * sharing the pair's place, where they share one. ``probability`` is the pair's alone. */
  function scorePair(req, rec) {
    const levels = MODEL.comparisons.map((c) => level(c, req, rec));
    const stratum = stratumOf(levels);
    let weight = MODEL.prior;
    const steps = [];
    MODEL.comparisons.forEach((c, i) => {
      const lv = levels[i];
      const table = stratum >= 0 && c.strata && c.strata[stratum] ? c.strata[stratum] : c;
      let w = table.weight[lv];
      let u = lv === 0 ? 1 : table.u[lv];
      let tf = null;
      if (c.tf && lv === 1) {
        const value = req[c.tf.role];
        tf = Object.prototype.hasOwnProperty.call(c.tf.values, value) ? c.tf.values[value] : 0;
        const uTf = Math.max((table.u[1] * tf) / c.tf.chance, 1e-9);
        w = c.tf.log2_m_exact - Math.log2(uTf);
        u = uTf;
      }
      weight += w;
      steps.push({ comparison: c.name, level: lv, level_name: c.levels[lv], weight: w, tf: tf, u: u, stratum: table !== c });
    });
    const alone = 1.0 / (1.0 + Math.pow(2, -weight));
    return { steps: steps, stratum: stratum, weight: weight, alone: alone, probability: alone, others: 0, shared: 0 };
  }
  /** One match per request (FellegiSunter.score with one_per_left): each candidate's
   * probability is its odds over one plus the odds of all the request's candidates,
   * o_j / (1 + sum o_k), computed relative to the best candidate so nothing overflows.
   * ``shared`` is what sharing takes off the candidate's weight, in bits (for the waterfall). */
  function shareAmong(scored) {
    if (!MODEL.one_per_left || !scored.length) return scored;
    const best = scored.reduce((m, s) => Math.max(m, s.weight), -Infinity);
    const scaled = scored.map((s) => Math.pow(2, s.weight - best));
    let total = 0;
    for (const x of scaled) total += x;
    scored.forEach((s, j) => {
      s.probability = scaled[j] / (Math.pow(2, -best) + total);
      s.others = scored.length - 1;
      // log2(1 + sum of the other candidates' odds), with the odds scaled as above.
      let rest = 0;
      scaled.forEach((x, k) => { if (k !== j) rest += x; });
      s.shared = -(Math.log2(Math.pow(2, -best) + rest) + best);
      if (!Number.isFinite(s.shared)) s.shared = 0;
    });
    return scored;
  }

  /** Register rows the engine's blocking passes would pair with the request. */
  function candidateRows(req) {
    const found = new Set();
    const B = DATA.blocking;
    const passes = B.passes.map((keys) => ({ keys: keys, values: keys.map((k) => keyPart(req, k)) }))
      .filter((p) => p.values.every((v) => v != null));
    const cross = B.cross.map((c) => ({ against: c.against, values: c.keys.map((k) => keyPart(req, k)) }))
      .filter((p) => p.values.every((v) => v != null));
    for (const rec of RECORDS) {
      let hit = passes.some((p) => p.keys.every((k, i) => keyPart(rec, k) === p.values[i]));
      if (!hit) hit = cross.some((p) => p.against.every((k, i) => keyPart(rec, k) === p.values[i]));
      if (hit) found.add(rec.row);
    }
    return [...found];
  }

  /** What the rule returns: decision.decide for one request (ids count once, at their best). */
  function decide(scored, threshold, rule) {
    const best = new Map();
    for (const s of scored) {
      if (s.probability >= threshold) {
        const prev = best.get(s.id);
        if (prev === undefined || s.probability > prev) best.set(s.id, s.probability);
      }
    }
    const over = [...best.entries()];
    const top = over.reduce((m, [, p]) => Math.max(m, p), -Infinity);
    const atTop = over.filter(([, p]) => p === top);
    let returned = [];
    if (rule === 'all') returned = over.map(([id]) => id);
    else if (rule === 'best') returned = atTop.length === 1 ? [atTop[0][0]] : [];
    else returned = over.length === 1 ? [over[0][0]] : [];
    return { returned: returned, over: over.length, ambiguous: over.length > 1 || atTop.length > 1 };
  }

  function scoreRows(req, rows) {
    return shareAmong(rows.map((row) => {
      const rec = RECORDS[row];
      return Object.assign({ row: row, id: rec.id, record: rec }, scorePair(req, rec));
    }));
  }
  function lookup(raw) {
    const req = normaliseRequest(raw);
    const scored = scoreRows(req, candidateRows(req));
    scored.sort((x, y) => y.probability - x.probability || y.weight - x.weight || x.id - y.id);
    return { request: req, scored: scored };
  }
  /** Raw request fields against slice row ``row``, scored among the request's candidates
   * (and the row itself, when it is not one of them: what it would score were it one). */
  function scoreRow(raw, row) {
    const req = normaliseRequest(raw);
    const rows = candidateRows(req);
    if (rows.indexOf(row) < 0) rows.push(row);
    return scoreRows(req, rows).find((s) => s.row === row);
  }

  // ---------------------------------------------------------------- the page
  const $ = (id) => document.getElementById(id);
  const FIELDS = ['forename', 'middle_names', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line'];
  const SVG = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    return node;
  }
  /** A probability with as many digits as it takes to tell it from 0 or 1 (at most 12). */
  function pct(p) {
    if (p >= 1) return '100%';
    if (p <= 0) return '0%';
    const near = Math.min(p, 1 - p);
    if (near < 1e-12) return p < 0.5 ? (100 * p).toExponential(1) + '%' : '100% − ' + (100 * (1 - p)).toExponential(1) + '%';
    const digits = Math.max(2, Math.min(12, Math.ceil(-Math.log10(near)) - 1));
    return (100 * p).toFixed(digits).replace(/(\.\d*?[1-9])0+$/, '$1') + '%';
  }
  const LABELS = { forename: 'First name', surname: 'Surname', middle_names: 'Middle names', date_of_birth: 'Date of birth', location: 'Home', postcode: 'Postcode', address: 'Address', sex: 'Sex' };
  const LEVEL_WORDS = {
    missing: 'not given (no evidence)', exact: 'the same', else: 'different', soundex: 'sounds alike (Soundex)',
    first3: 'same first three letters', initial: 'same initial', swapped: 'swapped with the surname',
    day_month_swap: 'day and month swapped', one_digit: 'one digit differs', same_month_year: 'same month and year',
    same_year: 'same year', full: 'same postcode', sector: 'same postcode sector', district: 'same postcode district',
    area: 'same postcode area', address_and_postcode: 'same address and postcode', address: 'same address',
    postcode_and_similar_address: 'same postcode, similar address', postcode: 'same postcode',
    similar_address: 'similar address',
  };
  function describeLevel(name) {
    if (LEVEL_WORDS[name]) return LEVEL_WORDS[name];
    let m = /^jaro_winkler>=(.*)$/.exec(name) || /^jaro>=(.*)$/.exec(name);
    if (m) return 'similar spelling ≥ ' + m[1];
    m = /^token_set>=(.*)$/.exec(name);
    if (m) return 'similar words ≥ ' + m[1];
    m = /^within_(\d+)_days$/.exec(name);
    if (m) return 'within ' + m[1] + ' days';
    return name.replace(/_/g, ' ');
  }

  /** A waterfall: the prior, then each field's weight, to the final weight (and probability). */
  function waterfall(result) {
    const bars = [{ label: 'prior (before any field)', weight: MODEL.prior, start: 0 }];
    let run = MODEL.prior;
    for (const s of result.steps) {
      bars.push({ label: (LABELS[s.comparison] || s.comparison) + ': ' + describeLevel(s.level_name), weight: s.weight, start: run });
      run += s.weight;
    }
    if (result.others > 0) {
      // One match per request: the other candidates' odds take their share.
      const n = result.others;
      bars.push({ label: 'shared with ' + n + ' other candidate' + (n === 1 ? '' : 's'), weight: result.shared, start: run });
      run += result.shared;
    }
    bars.push({ label: 'final: ' + pct(result.probability), weight: run, start: 0, total: true });
    let lo = 0, hi = 0;
    for (const b of bars) { lo = Math.min(lo, b.start, b.start + b.weight); hi = Math.max(hi, b.start, b.start + b.weight); }
    const width = 560, labelW = 250, row = 20, plotW = width - labelW - 60;
    const x = (v) => labelW + ((v - lo) / (hi - lo || 1)) * plotW;
    const chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + (bars.length * row + 24), class: 'waterfall', role: 'img' });
    chart.appendChild(svg('title', {}, 'Match weight of each field, in bits, from the prior to the final score'));
    chart.appendChild(svg('line', { x1: x(0), x2: x(0), y1: 0, y2: bars.length * row, class: 'zero' }));
    bars.forEach((b, i) => {
      const y = i * row;
      const a = x(b.start), z = x(b.start + b.weight);
      chart.appendChild(svg('text', { x: labelW - 6, y: y + 14, 'text-anchor': 'end' }, b.label));
      chart.appendChild(svg('rect', {
        x: Math.min(a, z), y: y + 3, width: Math.max(Math.abs(z - a), 1), height: row - 6,
        class: b.total ? 'total' : b.weight >= 0 ? 'up' : 'down',
      }));
      const sign = b.weight >= 0 ? '+' : '';
      chart.appendChild(svg('text', { x: Math.max(a, z) + 4, y: y + 14, class: 'value' }, sign + b.weight.toFixed(2)));
    });
    chart.appendChild(svg('text', { x: x(0), y: bars.length * row + 16, 'text-anchor': 'middle', class: 'axis' }, '0 bits'));
    return chart;
  }

  /** The evidence in plain words: which fields agree, which differ, which are missing. */
  function plainWords(result) {
    const agree = [], differ = [], missing = [];
    for (const s of result.steps) {
      const name = (LABELS[s.comparison] || s.comparison).toLowerCase();
      if (s.level === 0) missing.push(name);
      // By level, not by the weight's sign: agreeing on a name most siblings at the same home
      // share can weigh against a match, and it is still agreement.
      else if (s.level_name !== 'else') agree.push(s.level === 1 ? name : name + ' (' + describeLevel(s.level_name) + ')');
      else differ.push(name);
    }
    const bits = [];
    if (agree.length) bits.push('Agrees on ' + agree.join(', '));
    if (differ.length) bits.push('differs on ' + differ.join(', '));
    if (missing.length) bits.push(missing.join(', ') + ' not given on one side');
    let text = bits.join('; ') + '.';
    text = text.charAt(0).toUpperCase() + text.slice(1);
    // How often a different child agrees like this by chance: the product of the levels' u
    // (the model treats the fields as independent, among records sharing the pair's place
    // where they share one), over the whole register.
    const chance = result.steps.reduce((p, step) => p * step.u, 1) * DATA.register_size;
    const size = DATA.register_size.toLocaleString('en-GB');
    if (chance >= 1) text += ' The model expects about ' + odds(chance) + ' different children in a register of ' + size + ' to agree like this by chance';
    else text += ' The model expects a different child to agree like this by chance about once in ' + odds(1 / chance) + ' lookups in a register of ' + size;
    if (result.stratum >= 0) {
      const place = MODEL.comparisons[MODEL.place.comparison];
      text += '. The two records share a place (' + describeLevel(place.levels[result.stratum]) +
        '), so the other fields are weighed by how often different children who share it agree (siblings share a surname and a home)';
    }
    const said = (bits) => (bits >= 0 ? odds(Math.pow(2, bits)) + ' to 1 that this is' : odds(Math.pow(2, -bits)) + ' to 1 against this being') + ' the child asked about';
    if (result.others > 0) {
      const n = result.others;
      text += '. On its own this record would have odds of ' + said(result.weight) + '; but the lookup returns at most one child, and ' +
        (n === 1 ? 'one other candidate shares' : n + ' other candidates share') + ' those chances, so the odds are ' + said(result.weight + result.shared) + '.';
    } else text += ', and puts the odds at ' + said(result.weight) + '.';
    return text;
  }
  function odds(x) {
    const two = (v) => (v < 10 ? v.toPrecision(2) : Number(v.toPrecision(2)).toLocaleString('en-GB'));
    if (x < 1e6) return two(x);
    for (const [size, word] of [[1e12, 'trillion'], [1e9, 'billion'], [1e6, 'million']]) {
      if (x >= size && x < size * 1000) return two(x / size) + ' ' + word;
    }
    return '10^' + Math.floor(Math.log10(x));
  }

  function recordLine(rec) {
    const parts = [
      [rec.forename, rec.middle_names].filter(Boolean).join(' '), rec.surname,
      rec.dob ? rec.dob.iso : 'no date of birth', rec.sex === 0 ? 'M' : rec.sex === 1 ? 'F' : '',
      rec.address, rec.postcode,
    ];
    return parts.filter((p) => p).join(' · ');
  }

  const RULES = {
    unique: 'Return a child only when exactly one clears the threshold; nothing when several do.',
    best: 'Return the top-scoring child over the threshold; nothing when the top score is tied.',
    all: 'Return every child over the threshold.',
  };
  let current = null;
  // The slider holds a match weight; the run's own threshold is used exactly until it moves.
  let initialSlider = null;
  const toBits = (p) => (p <= 0 ? -Infinity : p >= 1 ? Infinity : Math.log2(p / (1 - p)));
  function currentThreshold() {
    const value = $('threshold').value;
    if (value === initialSlider) return MODEL.threshold;
    return 1.0 / (1.0 + Math.pow(2, -value));
  }
  function render() {
    const threshold = currentThreshold();
    $('threshold-value').textContent = pct(threshold) + ' (' + (+$('threshold').value).toFixed(2) + ' bits)';
    const rule = $('rule').value;
    $('rule-note').textContent = RULES[rule];
    const raw = {};
    for (const f of FIELDS) raw[f] = $(f).value;
    const result = lookup(raw);
    const decision = decide(result.scored, threshold, rule);
    const returned = new Set(decision.returned);
    const example = current;
    const box = $('candidates');
    box.replaceChildren();
    let verdict;
    if (!result.scored.length) verdict = 'No child in this page\'s register slice shares a blocking key with the request: the lookup has no candidate and returns nothing.';
    else if (!decision.returned.length) {
      verdict = decision.over > 1
        ? decision.over + ' children clear the threshold: the "' + rule + '" rule returns nothing (ambiguous).'
        : 'No candidate clears the threshold: nothing is returned.';
    } else verdict = 'Returned: ' + decision.returned.map((id) => 'pupil ' + id).join(', ') + '.';
    const nChildren = new Set(result.scored.map((s) => s.id)).size;
    verdict = nChildren + ' candidate' + (nChildren === 1 ? '' : 's') + '. ' + verdict;
    if (example && example.true_pupil_id != null) {
      const right = returned.has(example.true_pupil_id);
      const wrong = decision.returned.filter((id) => id !== example.true_pupil_id).length;
      verdict += wrong ? ' A wrong child is returned.' : right ? ' The true child is returned.' : ' The true child (pupil ' + example.true_pupil_id + ') is missed.';
    } else if (example) verdict += decision.returned.length ? ' This person is not in the register: any child returned is wrong.' : ' This person is not in the register.';
    const dateField = $('date_of_birth');
    const unreadDate = raw.date_of_birth.trim() !== '' && !result.request.dob;
    dateField.setAttribute('aria-invalid', String(unreadDate));
    if (unreadDate) verdict += ' The date of birth was not read (write it as YYYY-MM-DD): it counts as not given.';
    $('verdict').textContent = verdict;
    // One card per child, at its best-scoring register row (a register of address histories
    // holds a row per address; the rule counts each child once, at its best).
    const byChild = new Map();
    for (const s of result.scored) {
      if (!byChild.has(s.id)) byChild.set(s.id, Object.assign({ rows: 0 }, s));
      byChild.get(s.id).rows++;
    }
    const children = [...byChild.values()];
    const shown = children.slice(0, 30);
    for (const s of shown) {
      const isReturned = returned.has(s.id);
      const card = el('article', { class: 'candidate' + (isReturned ? ' returned' : ''), 'data-id': String(s.id), 'data-returned': String(isReturned), 'data-probability': String(s.probability) });
      const head = el('header');
      head.appendChild(el('span', { class: 'who' }, 'Pupil ' + s.id));
      if (example && example.true_pupil_id === s.id) head.appendChild(el('span', { class: 'badge truth' }, 'the true child'));
      head.appendChild(el('span', { class: 'badge ' + (isReturned ? 'yes' : 'no') }, isReturned ? 'returned' : s.probability >= threshold ? 'over the threshold, not returned' : 'below the threshold'));
      head.appendChild(el('span', { class: 'prob', title: 'match weight ' + s.weight.toFixed(2) + ' bits' }, pct(s.probability)));
      card.appendChild(head);
      card.appendChild(el('p', { class: 'record' }, recordLine(s.record) + (s.rows > 1 ? ' (best of ' + s.rows + ' addresses on record)' : '')));
      card.appendChild(el('p', { class: 'words' }, plainWords(s)));
      card.appendChild(waterfall(s));
      box.appendChild(card);
    }
    if (children.length > shown.length) box.appendChild(el('p', { class: 'muted' }, (children.length - shown.length) + ' more candidates with lower scores are not drawn.'));
  }

  function loadExample(index) {
    current = DATA.examples[index] || null;
    if (!current) return;
    for (const f of FIELDS) $(f).value = current.request[f] || '';
    const bits = [current.why, 'Request ' + current.request_id + '.', 'In the run: ' + current.outcome.replace(/_/g, ' ') + '.'];
    if (current.errors.length) bits.push('Errors applied: ' + current.errors.join(', ').replace(/_/g, ' ') + '.');
    else bits.push(current.true_pupil_id == null ? 'This person is not in the register.' : 'No error: the request copies the register.');
    $('preset-note').textContent = bits.filter(Boolean).join(' ');
    render();
  }

  function modelTables() {
    const box = $('model-tables');
    box.appendChild(el('p', {}, 'Prior: λ = ' + MODEL.lambda.toPrecision(3) + ' (' + MODEL.prior.toFixed(2) + ' bits): the chance that two records picked at random are the same child.'));
    for (const c of MODEL.comparisons) {
      const table = el('table');
      table.appendChild(el('caption', {}, LABELS[c.name] || c.name));
      const head = el('tr');
      for (const h of ['level', 'm', 'u', 'weight (bits)']) head.appendChild(el('th', { scope: 'col' }, h));
      table.appendChild(head);
      c.levels.forEach((name, i) => {
        const row = el('tr');
        row.appendChild(el('td', {}, describeLevel(name)));
        row.appendChild(el('td', { class: 'num' }, i ? c.m[i].toPrecision(3) : '—'));
        row.appendChild(el('td', { class: 'num' }, i ? c.u[i].toPrecision(3) : '—'));
        row.appendChild(el('td', { class: 'num' }, (c.weight[i] >= 0 ? '+' : '') + c.weight[i].toFixed(2)));
        table.appendChild(row);
      });
      box.appendChild(table);
    }
    modelStrata();
  }
  /** The u and weights measured among records that share a place, one table per place level. */
  function modelStrata() {
    const box = $('model-strata');
    if (!MODEL.place || !MODEL.place.strata.length) { box.hidden = true; return; }
    const place = MODEL.comparisons[MODEL.place.comparison];
    box.appendChild(el('p', {}, 'Where the two records share a place, the other fields agree by chance more often than among children picked at random (siblings share a surname and a home), so their u is measured among different children who share that place, and their weights are these. The same-place level itself keeps its weight above.'));
    for (const stratum of MODEL.place.strata) {
      const table = el('table');
      table.appendChild(el('caption', {}, (LABELS[place.name] || place.name) + ': ' + describeLevel(place.levels[stratum])));
      const head = el('tr');
      for (const h of ['field', 'level', 'u', 'weight (bits)']) head.appendChild(el('th', { scope: 'col' }, h));
      table.appendChild(head);
      for (const c of MODEL.comparisons) {
        const t = c.strata && c.strata[stratum];
        if (!t) continue;
        c.levels.forEach((name, i) => {
          if (!i) return;
          const row = el('tr');
          row.appendChild(el('td', {}, LABELS[c.name] || c.name));
          row.appendChild(el('td', {}, describeLevel(name)));
          row.appendChild(el('td', { class: 'num' }, t.u[i].toPrecision(3)));
          row.appendChild(el('td', { class: 'num' }, (t.weight[i] >= 0 ? '+' : '') + t.weight[i].toFixed(2)));
          table.appendChild(row);
        });
      }
      box.appendChild(table);
    }
  }

  function init() {
    modelTables();
    $('lead').textContent = 'Scenario "' + DATA.scenario + '" (seed ' + DATA.seed + '), ' + DATA.register_size.toLocaleString('en-GB') +
      ' pupils in the register. Edit the request or pick an example: the page blocks, compares and scores it as matchsim does, with the model this run fitted (' + MODEL.matcher + ').';
    $('slice-note').textContent = 'This page holds ' + RECORDS.length.toLocaleString('en-GB') + ' of the register\'s records: every candidate of the examples, their true children and their families. A request far from them finds only those.';
    const select = $('preset');
    const groups = new Map();
    DATA.examples.forEach((e, i) => {
      if (!groups.has(e.label)) { groups.set(e.label, el('optgroup', { label: e.label })); select.appendChild(groups.get(e.label)); }
      const r = e.request;
      groups.get(e.label).appendChild(el('option', { value: String(i) }, [r.forename, r.surname].filter(Boolean).join(' ') + ' (request ' + e.request_id + ')'));
    });
    select.addEventListener('change', () => loadExample(+select.value));
    const slider = $('threshold');
    slider.value = String(Math.min(+slider.max, Math.max(+slider.min, toBits(MODEL.threshold))));
    initialSlider = slider.value;
    $('rule').value = DATA.decision;
    $('threshold').addEventListener('input', render);
    $('rule').addEventListener('change', render);
    for (const f of FIELDS) $(f).addEventListener('input', render);
    if (DATA.examples.length) loadExample(0); else render();
  }

  window.matchsimExplorer = {
    data: DATA, records: RECORDS, normaliseRequest: normaliseRequest, scorePair: scorePair,
    /** Score raw request fields against slice row ``row`` (for tests). */
    score: scoreRow,
    candidates: (raw) => candidateRows(normaliseRequest(raw)).map((row) => RECORDS[row].id),
    lookup: lookup, decide: decide, threshold: () => currentThreshold(), jaro: jaro, jaroWinkler: jaroWinkler, tokenSetRatio: tokenSetRatio,
    soundex: soundex, normaliseName: normaliseName, normaliseAddress: normaliseAddress,
  };
  init();
})();
