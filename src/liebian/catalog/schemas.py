from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from liebian.kit.money import MAX_FEN

SpecText = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
CategoryName = Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True)]
ImageUrl = Annotated[str, StringConstraints(max_length=500, pattern=r"^(https?://|/)")]
MAX_STOCK = 10_000_000
_T = TypeVar("_T")


class SkuIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    specs: dict[SpecText, SpecText] = Field(default_factory=dict, max_length=5)
    price_fen: int = Field(ge=0, le=MAX_FEN)
    stock: int = Field(ge=0, le=MAX_STOCK)
    code: str | None = Field(default=None, max_length=64)


class SkuPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    specs: dict[SpecText, SpecText] | None = Field(default=None, max_length=5)
    price_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    code: str | None = Field(default=None, max_length=64)
    archived: bool | None = None


class StockAdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delta: int = Field(ge=-MAX_STOCK, le=MAX_STOCK)
    reason: str = Field(default="manual", max_length=100)


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=20_000)
    images: list[ImageUrl] = Field(default_factory=list, max_length=20)
    category: CategoryName | None = None
    category_id: int | None = None
    max_per_order: int | None = Field(default=None, ge=1, le=9999)
    publish: bool = True
    skus: list[SkuIn] = Field(min_length=1, max_length=200)

    @field_validator("title")
    @classmethod
    def _strip_title(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("title must not be blank")
        return value


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=20_000)
    images: list[ImageUrl] | None = Field(default=None, max_length=20)
    category_id: int | None = None
    max_per_order: int | None = Field(default=None, ge=1, le=9999)

    @field_validator("description", "images")
    @classmethod
    def _not_null(cls, value: _T | None) -> _T:
        # Absent means "keep"; an explicit null would write NULL into a NOT NULL column.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value


class SkuPut(SkuIn):
    """A SKU of a whole product sent back: with ``id``, that SKU is changed; without, a new one is added.

    ``stock_was``: the stock the form showed. Given, the change (``stock - stock_was``) is applied to the stock
    as it is now, so units sold while the merchant was editing are not put back; without it, ``stock`` is set.
    """

    id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    stock_was: int | None = Field(default=None, ge=0, le=MAX_STOCK)


class ProductPut(BaseModel):
    """The whole product at once (the console's edit form): fields replaced, SKUs listed are kept (changed or
    added), active SKUs not listed are archived, ``publish`` puts it on or off sale; all or nothing."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=20_000)
    images: list[ImageUrl] = Field(default_factory=list, max_length=20)
    category: CategoryName | None = None
    category_id: int | None = None
    max_per_order: int | None = Field(default=None, ge=1, le=9999)
    publish: bool
    skus: list[SkuPut] = Field(min_length=1, max_length=200)

    @field_validator("title")
    @classmethod
    def _strip_title(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("title must not be blank")
        return value


class SkuOut(BaseModel):
    id: int
    specs: dict[str, Any]
    price_fen: int
    stock: int
    code: str | None = None
    archived: bool = False


class ProductOut(BaseModel):
    id: int
    title: str
    description: str
    images: list[str]
    category_id: int | None
    status: str
    max_per_order: int | None
    price_from_fen: int | None
    skus: list[SkuOut]
    promotions: list[dict[str, Any]] = Field(default_factory=list)


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: CategoryName
    sort: int = Field(default=0, ge=-1000, le=1000)


class CategoryOut(BaseModel):
    id: int
    name: str
    sort: int
