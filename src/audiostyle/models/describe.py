"""A style model's header in words: what ``audiostyle info`` prints and the studio shows."""

from __future__ import annotations

from .model import StyleModel

#: The rate at which a model's latency is stated (Hz).
INFO_RATE = 44100


def describe(model: StyleModel) -> list[tuple[str, str]]:
    """A model's header in words, as ``(name, value)`` lines (``info``, the studio)."""
    h = model.header
    options = ", ".join(f"{k}={v}" for k, v in h.get("options", {}).items()) or "defaults"
    styles = "; ".join(f"{s['name']} (weight {s['weight']:.3g}, sha256 {s['sha256'][:12]}…)"
                       for s in h["styles"])
    corpus = h["corpus"]
    kind = ("synthetic" if corpus["kind"] == "synthetic" else
            f"{corpus['kind']} {corpus.get('folder', '')} ({corpus.get('files', '?')} files, "
            f"{corpus.get('seconds', '?')} s)")
    training = h["training"]
    budget = training["budget"]
    limits = " or ".join(x for x in (f"{budget['steps']} steps" if budget["steps"] else "",
                                     f"{budget['minutes']:g} min" if budget["minutes"] else "")
                         if x)
    final = h["losses"]["validation"]
    style = sum(v for k, v in final.items() if k.split("/")[0] == "style")  # (per layer)
    parts = f"style {style:.3g}, structure {final.get('structure', 0):.3g}"
    net = model.net.config
    latency = model.latency(INFO_RATE)
    receptive = net.receptive_frames * model.grid(INFO_RATE).hop / INFO_RATE
    return [
        ("extractor", f"{h['extractor']} ({options}) at {h['sample_rate']} Hz"),
        ("strength", f"{h['strength']:g}"),
        ("styles", styles),
        ("corpus", f"{kind}, version {corpus['version']}" if "version" in corpus else kind),
        ("training", f"{h['steps']} steps in {h['minutes']:.1f} min on {training['device']}, "
                     f"seed {training['seed']}, budget {limits}"
                     + (" (interrupted)" if h.get("interrupted") else "")),
        ("losses", f"training {db_text(h['losses']['training'])}, validation "
                   f"{db_text(final.get('total_db'))} ({parts})"),
        ("network", f"{net.channels} channels, {len(net.dilations)} layers, "
                    f"{sum(p.numel() for p in model.net.parameters()):,} parameters, "
                    f"hears {receptive:.2f} s of the past"),
        ("latency", f"{latency.samples} samples = {latency.ms:.1f} ms at {INFO_RATE} Hz"),
        *_texture(model),
    ]


def _texture(model: StyleModel) -> list[tuple[str, str]]:
    """The texture line, for a model that plays one."""
    made = model.header.get("texture")
    if model.texture is None or made is None:
        return []
    seconds = len(model.texture) / model.header["sample_rate"]
    return [("texture", f"{seconds:.1f} s of the style's texture ({made['made_by']}, "
                        f"{made['iterations']} iterations), re-timed by the content's onsets")]


def db_text(value: float | None) -> str:
    """A level in dB for people (``–`` when there is none)."""
    return "–" if value is None else f"{value:.1f} dB"
