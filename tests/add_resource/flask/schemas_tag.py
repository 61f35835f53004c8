

TagName = Annotated[str, Field(min_length=1, max_length=50, pattern=NO_NUL)]


class TagCreate(BaseModel):
    model_config = INPUT

    name: TagName


class TagPage(Page[TagRead]):
    """By name."""


class TagPath(BaseModel):
    tag_id: int = Field(ge=1, le=MAX_ID)


class ItemTags(BaseModel):
    model_config = INPUT

    tag_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(max_length=100)
