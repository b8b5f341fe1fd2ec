"""The cast and the look: what must stay the same from shot to shot.

A project holds named characters, products and locations, each with
reference images (the user's own, or chosen from generated candidates) and a
description, plus one look (palette, lens, grain, lighting). A brief or a shot
that names a member (``@mara``, or "Mara" as a word) carries the member into
that shot: its description into the prompt, and its reference images into
every backend that accepts references, so shot 3 shows the same person,
product or place as shot 1.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shotsmith.errors import InvalidInputError

CastKind = Literal["character", "product", "location"]
#: Names become reference tags (Runway: letters, digits and _; 3-16 characters, starting with a letter).
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,15}$")


#: Words that make a cast member a place or a product when nothing says its kind ("this is the shop: shop.png").
_LOCATION_WORDS = {"shop", "store", "cafe", "café", "kitchen", "street", "room", "beach", "office", "studio", "bakery",
                   "restaurant", "bar", "garden", "park", "house", "home", "apartment", "flat", "hotel", "lobby",
                   "warehouse", "factory", "market", "square", "city", "town", "village", "forest", "lake", "mountain",
                   "rooftop", "gym", "salon", "classroom", "school", "library", "church", "stage", "set", "venue",
                   "bedroom", "bathroom", "hall", "corridor", "alley", "harbour", "harbor", "station", "place",
                   "location", "diner", "bistro", "boutique", "showroom", "workshop", "garage", "farm", "yard"}
_PRODUCT_WORDS = {"bottle", "cup", "mug", "can", "box", "shoe", "shoes", "sneaker", "sneakers", "bag", "package",
                  "packaging", "jar", "tin", "pack", "product", "phone", "watch", "perfume", "lipstick", "cream",
                  "serum", "drink", "gadget", "device", "headphones", "jacket", "shirt", "dress", "hat",
                  "chair", "lamp", "toy", "bike", "car", "logo", "label", "brand", "mascot"}

_PERSON_WORDS = {"friend", "woman", "man", "girl", "boy", "person", "barista", "chef", "baker", "owner", "customer",
                 "actor", "actress", "character", "hero", "heroine", "kid", "child", "lady", "guy", "dog", "cat",
                 "colleague", "mum", "mom", "dad", "sister", "brother", "wife", "husband", "partner", "host"}


def infer_kind(words: str) -> CastKind:
    """The kind a member's own words suggest (its name and what the user said of it): a place ("the shop",
    "our kitchen"), a product ("our new bottle", "the can") or, by default, a character. Only a guess for
    chat's "this is …"; ``cast add --kind`` says it outright and wins."""
    tokens = re.findall(r"[^\W\d_]+", words.lower())
    if re.search(r"\b(?:our|my|the)\s+new\s+\w", words, re.IGNORECASE):
        return "product"  # "our new X" is what the ad sells
    for token in tokens:  # the first telling word wins: "my friend Mara, a woman in a red dress" is a character
        if token in _PERSON_WORDS:
            return "character"
        if token in _LOCATION_WORDS and token not in _PRODUCT_WORDS:
            return "location"
        if token in _PRODUCT_WORDS:
            return "product"
    return "character"


class CastMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="How briefs and prompts name it: @name or the word itself.")
    kind: CastKind = "character"
    description: str = Field(default="", max_length=500, description="What it looks like, in prompt words.")
    images: list[str] = Field(default_factory=list, description="Project-relative (or input) paths of reference images.")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"cast name {value!r} must be 2-16 letters, digits or _, starting with a letter")
        return value

    @property
    def tag(self) -> str:
        """The reference tag providers see (at least 3 characters)."""
        return self.name if len(self.name) >= 3 else f"{self.name}_x"

    def mentioned_in(self, text: str) -> bool:
        """``@name`` anywhere, or the name as a whole word (case-insensitive)."""
        return re.search(rf"(?<![\w@])@?{re.escape(self.name)}(?!\w)", text, re.IGNORECASE) is not None


class Look(BaseModel):
    """The film's look, added to every prompt that does not say otherwise."""

    model_config = ConfigDict(extra="forbid")

    palette: str = Field(default="", description="e.g. 'warm amber and teal'.")
    lens: str = Field(default="", description="e.g. '35mm, shallow depth of field'.")
    grain: str = Field(default="", description="e.g. 'fine 16mm grain'.")
    lighting: str = Field(default="", description="e.g. 'soft window light'.")

    @property
    def phrase(self) -> str:
        return ", ".join(p for p in (self.palette, self.lens, self.grain, self.lighting) if p)


def find_member(cast: list[CastMember], name: str) -> CastMember:
    wanted = name.lstrip("@").lower()
    for member in cast:
        if member.name.lower() == wanted:
            return member
    raise InvalidInputError(f"no cast member named {name!r}",
                            hint=f"the cast: {', '.join(m.name for m in cast) or 'none yet'}")


def members_in(cast: list[CastMember], text: str) -> list[CastMember]:
    return [m for m in cast if m.mentioned_in(text)]
