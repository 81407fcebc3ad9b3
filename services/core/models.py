"""Every table, imported once so Alembic and the tests see the whole schema."""

from services.core.cases.models import CaseEvent, DistrictEvent, PassiveCase
from services.core.categories.models import Category
from services.core.db import Base
from services.core.org.models import Community, Grid, OperatorCommunity, Person, PersonRole, Street

metadata = Base.metadata

__all__ = ["CaseEvent", "Category", "Community", "DistrictEvent", "Grid", "OperatorCommunity",
           "PassiveCase", "Person", "PersonRole", "Street", "metadata"]
