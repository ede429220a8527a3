"""The homework's true/false statements about autoencoders: each key with its reason.

These are arguments, not computations; where a small experiment decides or illustrates a
statement honestly, numerics.concepts runs it and the check compares its outcome with the key.
"""

from __future__ import annotations

from functools import cache

from derivations.core import Derivation, Step

KEY: dict[str, tuple[bool, str]] = {
    "ae_a": (
        False,
        "Validation reconstruction loss is the training objective measured on unseen data: it still detects "
        "under- and over-fitting of the autoencoder itself, even though the representation is finally judged "
        "downstream.",
    ),
    "ae_b": (
        False,
        "Reconstruction rewards keeping the directions of large variance; a downstream label may live in a "
        "direction of small variance, so a variant can reconstruct better (lower validation loss) yet keep less "
        "of what the task needs.",
    ),
    "ae_c": (
        True,
        "Downstream, only the encoder maps inputs to representations; the decoder existed to define the "
        "pretraining loss and is set aside.",
    ),
    "ae_d": (
        True,
        "The code keeps what reconstruction needs, not what the label needs: when the label sits in a "
        "low-variance direction the code can discard it, and a classifier on raw inputs then does better.",
    ),
    "ae_e": (
        True,
        "Low-level structure (edges, textures, local statistics) is shared across data sets, so an encoder "
        "pretrained on other data can still give useful features: transfer can help even across domains.",
    ),
    "ae_f": (
        True,
        "Pretraining uses unlabelled data; its benefit is largest when labels are scarce, where a classifier on "
        "raw high-dimensional inputs overfits and a compact learned code does not.",
    ),
    "ae_g": (
        True,
        "A single masked pixel is recovered by interpolating its neighbours, which needs no understanding of "
        "the image; masking whole patches forces the model to infer content from context.",
    ),
    "ae_h": (
        True,
        "A denoising or masked autoencoder is a plain autoencoder trained on corrupted copies of its inputs "
        "with the clean input as target — data augmentation applied to the input side.",
    ),
    "ae_i": (
        False,
        "Noise and masking are a training device; downstream the encoder is applied to clean inputs, and "
        "corrupting them then only removes information.",
    ),
    "ae_j": (
        False,
        "Nothing forces a bottleneck: overcomplete autoencoders have more code units than inputs (kept from "
        "copying by sparsity, noise or masking), and sequence or convolutional autoencoders give codes whose "
        "size follows the input's.",
    ),
}


@cache
def statement(name: str) -> Derivation:
    value, reason = KEY[name]
    steps = (Step(reason), Step(f"So the statement is {'true' if value else 'false'}."))
    return Derivation(frozenset({"true" if value else "false"}), steps, {})
