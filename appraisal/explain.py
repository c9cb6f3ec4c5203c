"""``appraisal explain``: how one employee's numbers were derived, in plain words.

Everything comes from the employee's record in ``results.json`` (its trace),
so the explanation is exactly what the run computed, and the arithmetic can
be redone on paper: group means × shares → competency scores → cluster
scores → overall → rounding → category.
"""

from __future__ import annotations

from typing import Any

from .i18n import Lang, choose

WORDS: dict[str, dict[str, str]] = {
    "employee": {"id": "Pegawai", "en": "Employee"},
    "rubric": {"id": "Rubrik", "en": "Rubric"},
    "version": {"id": "versi", "en": "version"},
    "ratings": {
        "id": "{ratings} penilaian dari {raters} penilai (di luar diri sendiri); {not_observed} berisi "
        "'tidak teramati' dan tidak dihitung.",
        "en": "{ratings} ratings from {raters} raters (besides self); {not_observed} were 'not observed' "
        "and are not counted.",
    },
    "competency_intro": {
        "id": "Skor kompetensi = jumlah (porsi kelompok × rata-rata kelompok). Skema bobot: {scheme}.",
        "en": "Competency score = sum of (group share × group mean). Weighting scheme: {scheme}.",
    },
    "competency_head": {"id": "{name} (klaster {cluster}, bobot {weight:g})", "en": "{name} (cluster {cluster}, weight {weight:g})"},
    "group_counted": {
        "id": "{group}: rata-rata {mean:.4f} dari {n} penilai, porsi {share:.4f}",
        "en": "{group}: mean {mean:.4f} from {n} rater(s), share {share:.4f}",
    },
    "group_shown_only": {
        "id": "{group}: {mean:.4f} (ditampilkan sebagai pembanding, tidak dihitung)",
        "en": "{group}: {mean:.4f} (shown for comparison, not counted)",
    },
    "group_hidden": {
        "id": "{group}: tidak ditampilkan dan tidak dihitung (kurang dari {minimum} penilai)",
        "en": "{group}: neither shown nor counted (fewer than {minimum} raters)",
    },
    "no_score": {"id": "tidak ada skor: tidak ada penilaian yang dihitung", "en": "no score: no counted ratings"},
    "self_gap": {
        "id": "diri sendiri − orang lain = {gap:+.4f}",
        "en": "self − others = {gap:+.4f}",
    },
    "calibration_none": {
        "id": "Kalibrasi: tidak ada penyesuaian; skor akhir = skor mentah.",
        "en": "Calibration: no adjustment; final scores equal raw scores.",
    },
    "calibration": {
        "id": "Kalibrasi ({steps}) menggeser skor kompetensi (akhir − mentah):",
        "en": "Calibration ({steps}) moved the competency scores (final − raw):",
    },
    "calibrated_competency": {
        "id": "dengan rata-rata kelompok terkalibrasi: {terms} = {value:.4f}",
        "en": "with calibrated group means: {terms} = {value:.4f}",
    },
    "leniency": {
        "id": "{group}: rata-rata kemurahan {n} penilai menurut {step}: {value:+.4f}; rata-rata skor kelompok ini "
        "bergeser {moved:+.4f} (kemurahan dan efek kelompok dikeluarkan)",
        "en": "{group}: average leniency of the {n} rater(s) by {step}: {value:+.4f}; this group's mean moved by "
        "{moved:+.4f} (leniency and the group's systematic effect removed)",
    },
    "uncertainty": {
        "id": "Ketidakpastian: galat baku {se:.4f}; rentang {level:.0%}: {low:.2f} – {high:.2f}; reliabilitas {reliability} (minimum {minimum:.2f}).",
        "en": "Uncertainty: standard error {se:.4f}; {level:.0%} interval: {low:.2f} – {high:.2f}; reliability {reliability} (minimum {minimum:.2f}).",
    },
    "insufficient": {
        "id": "BUKTI BELUM CUKUP: skor ini jangan dipakai sendirian untuk keputusan.",
        "en": "INSUFFICIENT EVIDENCE: do not base a decision on this score alone.",
    },
    "cluster_intro": {
        "id": "Skor klaster = jumlah (bobot × skor kompetensi) / jumlah bobot, atas kompetensi yang memiliki skor:",
        "en": "Cluster score = sum of (weight × competency score) / sum of weights, over competencies with a score:",
    },
    "overall_intro": {
        "id": "Skor keseluruhan = jumlah (bobot klaster × skor klaster) / jumlah bobot:",
        "en": "Overall score = sum of (cluster weight × cluster score) / sum of weights:",
    },
    "rounded": {
        "id": "Dibulatkan ke {decimals} desimal (setengah ke atas): {shown}",
        "en": "Rounded half-up to {decimals} decimals: {shown}",
    },
    "raw_overall": {
        "id": "Skor keseluruhan sebelum kalibrasi (overall_raw): {raw}",
        "en": "Overall score before calibration (overall_raw): {raw}",
    },
    "category": {"id": "Kategori: {reason}", "en": "Category: {reason}"},
    "no_category": {"id": "Kategori: tidak ada", "en": "Category: none"},
    "no_overall": {
        "id": "Tidak ada skor keseluruhan: tidak ada penilaian yang dapat dihitung.",
        "en": "No overall score: there are no ratings that can be counted.",
    },
    "plan": {"id": "Rencana pengembangan (kesenjangan terhadap profil jabatan):", "en": "Development plan (gaps to the position profile):"},
    "plan_entry": {
        "id": "{name}: dipersyaratkan {required:g}, dicapai {achieved:.2f}, kesenjangan {gap:.2f}",
        "en": "{name}: required {required:g}, achieved {achieved:.2f}, gap {gap:.2f}",
    },
    "notes": {"id": "Catatan:", "en": "Notes:"},
    "general": {"id": "pengembangan umum (memenuhi jam pelajaran minimal)", "en": "general development (to reach the minimum learning hours)"},
    "action": {"id": "{name} — {form}, {hours:g} JP{provider}", "en": "{name} — {form}, {hours:g} JP{provider}"},
    "hours": {
        "id": "Jumlah jam pelajaran: {total:g} JP{limits}.",
        "en": "Learning hours: {total:g} JP{limits}.",
    },
    "self_other": {
        "id": "Penilaian diri dibanding orang lain: {category} (diri {self:.2f}, orang lain {others:.2f}, selisih {difference:+.2f}; "
        "dianggap berbeda bila lebih dari {threshold:.2f}).",
        "en": "Self compared with others: {category} (self {self:.2f}, others {others:.2f}, difference {difference:+.2f}; "
        "counted as different beyond {threshold:.2f}).",
    },
    "blind_spots": {"id": "Titik buta (diri jauh di atas orang lain): {items}", "en": "Blind spots (self well above others): {items}"},
    "hidden_strengths": {"id": "Kekuatan tersembunyi (orang lain jauh di atas diri): {items}", "en": "Hidden strengths (others well above self): {items}"},
    "strengths": {"id": "Kekuatan untuk dimanfaatkan: {items}", "en": "Strengths to leverage: {items}"},
}


CATEGORY_WORDS = {
    "over-estimator": {"id": "menilai diri lebih tinggi", "en": "over-estimator"},
    "under-estimator": {"id": "menilai diri lebih rendah", "en": "under-estimator"},
    "in-agreement-good": {"id": "sejalan, skor baik", "en": "in agreement, good"},
    "in-agreement-poor": {"id": "sejalan, skor rendah", "en": "in agreement, poor"},
}


def _development(record: dict[str, Any], competency_name: Any, lang: Lang) -> list[str]:
    """The development plan and what the recommender found, in words."""
    lines: list[str] = []
    plan, insights = record["development_plan"], record.get("development") or {}
    if plan:
        lines.append(f"7. {_w('plan', lang)}")
    for entry in plan:
        if entry["competency"]:
            head = _w("plan_entry", lang, name=competency_name(entry["competency"]), **{k: entry[k] for k in ("required", "achieved", "gap")})
        else:
            head = _w("general", lang)
        lines.append(f"   - {head}")
        for action in entry["actions"]:
            provider = f", {choose(action['provider'], lang)}" if action.get("provider") else ""
            lines.append("       " + _w("action", lang, name=choose(action["name"], lang), form=choose(action["form_label"], lang), hours=action["hours"], provider=provider))
    hours = insights.get("learning_hours")
    if hours:
        limits = []
        if hours["minimum"] is not None:
            limits.append(f"minimum {hours['minimum']:g}")
        if hours["maximum"] is not None:
            limits.append(f"maksimum {hours['maximum']:g}" if lang == "id" else f"maximum {hours['maximum']:g}")
        suffix = f" ({hours['employment_type']}: {', '.join(limits)})" if limits else ""
        lines.append("   " + _w("hours", lang, total=hours["total"], limits=suffix))
    if insights.get("self_other"):
        agreement = insights["self_other"]
        lines.append("   " + _w("self_other", lang, **{**agreement, "category": CATEGORY_WORDS[agreement["category"]][lang]}))
    for key in ("blind_spots", "hidden_strengths"):
        if insights.get(key):
            items = ", ".join(f"{competency_name(x['competency'])} ({x['self']:.2f} / {x['others']:.2f})" for x in insights[key])
            lines.append("   " + _w(key, lang, items=items))
    if insights.get("strengths"):
        lines.append("   " + _w("strengths", lang, items=", ".join(competency_name(c) for c in insights["strengths"])))
    return lines


def _w(key: str, lang: Lang, **params: Any) -> str:
    return WORDS[key][lang].format(**params)


def explain(record: dict[str, Any], meta: dict[str, Any], lang: Lang) -> str:
    """The derivation of one employee's numbers as numbered plain-language steps."""
    groups = {g["id"]: g for g in meta["rater_groups"]}
    competencies = {c["id"]: c for c in meta["competencies"]}
    clusters = {c["id"]: c for c in meta["clusters"]}
    decimals = meta["scale"]["decimals"]
    trace = {step["step"]: step for step in record["trace"]}

    def group_name(group_id: str) -> str:
        return choose(groups[group_id]["label"], lang)

    def competency_name(competency_id: str) -> str:
        return choose(competencies[competency_id]["name"], lang)

    details = ", ".join(part for part in (record["name"], record["unit"], record["position"]) if part)
    lines = [
        f"{_w('employee', lang)} {record['employee_id']}" + (f" — {details}" if details else ""),
        f"{_w('rubric', lang)}: {meta['rubric']['id']} {_w('version', lang)} {meta['rubric']['version']}",
        "",
        f"1. {_w('ratings', lang, **trace['ratings']['output'])}",
        f"2. {_w('competency_intro', lang, scheme=trace['weighting']['component'])}",
    ]
    for competency in record["competencies"]:
        lines.append(
            "   "
            + _w(
                "competency_head",
                lang,
                name=competency_name(competency["id"]),
                cluster=choose(clusters[competency["cluster"]]["name"], lang),
                weight=competency["weight"],
            )
        )
        terms = []
        for group in competency["groups"]:
            if not group["shown"]:
                minimum = groups[group["group"]]["min_raters"]
                lines.append("     - " + _w("group_hidden", lang, group=group_name(group["group"]), minimum=minimum))
            elif group["counted"]:
                lines.append(
                    "     - "
                    + _w("group_counted", lang, group=group_name(group["group"]), mean=group["mean"], n=group["n"], share=group["share"])
                )
                terms.append(f"{group['share']:.4f} × {group['mean']:.4f}")
            else:
                lines.append("     - " + _w("group_shown_only", lang, group=group_name(group["group"]), mean=group["mean"]))
        if competency["score_raw"] is None:
            lines.append("     = " + _w("no_score", lang))
            continue
        lines.append(f"     = {' + '.join(terms)} = {competency['score_raw']:.4f}")
        if competency["self_minus_others"] is not None:
            lines.append("     (" + _w("self_gap", lang, gap=competency["self_minus_others"]) + ")")

    calibration = trace["calibration"]
    adjustments = {k: v for k, v in calibration["output"].items() if v}
    if not adjustments:
        lines.append(f"3. {_w('calibration_none', lang)}")
    else:
        lines.append(f"3. {_w('calibration', lang, steps=', '.join(calibration['components']))}")
        for group_id, leniency in calibration.get("rater_leniency", {}).items():
            moves = [
                g["mean_calibrated"] - g["mean"]
                for c in record["competencies"]
                for g in c["groups"]
                if g["group"] == group_id and g.get("counted")
            ]
            moved = sum(moves) / len(moves) if moves else 0.0
            for step, value in leniency.items():
                if step != "raters":
                    lines.append(
                        "   - "
                        + _w("leniency", lang, group=group_name(group_id), n=leniency["raters"], step=step, value=value, moved=moved)
                    )
        lines += [f"   - {choose(note, lang)}" for note in calibration.get("notes", [])]
        for competency in record["competencies"]:
            if competency["score"] is None:
                continue
            terms = " + ".join(
                f"{g['share']:.4f} × {g['mean_calibrated']:.4f}" for g in competency["groups"] if g.get("counted")
            )
            lines.append(
                f"   {competency_name(competency['id'])}: {adjustments.get(competency['id'], 0.0):+.4f}; "
                + _w("calibrated_competency", lang, terms=terms, value=competency["score"])
            )

    lines.append(f"4. {_w('cluster_intro', lang)}")
    for cluster_id, members in trace["cluster"]["inputs"].items():
        name = choose(clusters[cluster_id]["name"], lang)
        score = trace["cluster"]["output"][cluster_id]
        if not members or score is None:
            lines.append(f"   {name}: " + _w("no_score", lang))
            continue
        numerator = " + ".join(f"{m['weight']:g} × {m['score']:.4f}" for m in members.values())
        denominator = " + ".join(f"{m['weight']:g}" for m in members.values())
        lines.append(f"   {name} = ({numerator}) / ({denominator}) = {score:.4f}")

    overall = trace["overall"]
    if overall["output"]["final"] is None:
        lines.append(f"5. {_w('no_overall', lang)}")
    else:
        inputs = overall["inputs"]
        numerator = " + ".join(f"{c['weight']:g} × {c['score']:.4f}" for c in inputs.values())
        denominator = " + ".join(f"{c['weight']:g}" for c in inputs.values())
        lines.append(f"5. {_w('overall_intro', lang)}")
        lines.append(f"   ({numerator}) / ({denominator}) = {overall['output']['final']:.4f}")
        shown = f"{overall['output']['shown']:.{decimals}f}"
        lines.append("   " + _w("rounded", lang, decimals=decimals, shown=shown))
        if overall["output"]["raw"] != overall["output"]["final"]:
            lines.append("   " + _w("raw_overall", lang, raw=f"{overall['output']['raw']:.{decimals}f}"))
        uncertainty = trace.get("uncertainty", {}).get("output")
        if uncertainty and uncertainty["se"] is not None:
            reliability = "–" if uncertainty["reliability"] is None else f"{uncertainty['reliability']:.2f}"
            low, high = uncertainty["interval"]
            lines.append(
                "   "
                + _w(
                    "uncertainty",
                    lang,
                    se=uncertainty["se"],
                    level=uncertainty["level"],
                    low=low,
                    high=high,
                    reliability=reliability,
                    minimum=uncertainty["min_reliability"],
                )
            )
            if not uncertainty["sufficient"]:
                lines.append("   " + _w("insufficient", lang))

    if "classification" in trace:
        primary = trace["classification"]["primary"]
        category = record["category"]
        text = _w("category", lang, reason=choose(category["reason"], lang)) if category else _w("no_category", lang)
        lines.append(f"6. {text}")
        for name, other in record["classifications"].items():
            if name != primary and other:
                lines.append(f"   {name}: {choose(other['reason'], lang)}")
    lines += _development(record, competency_name, lang)
    if record["flags"]:
        lines.append("")
        lines.append(_w("notes", lang))
        lines += [f"   - {choose(flag['message'], lang)}" for flag in record["flags"]]
    return "\n".join(lines)
