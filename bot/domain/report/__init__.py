"""The weekly registry health report (issue #4): pure functions from a snapshot to a report."""

from bot.domain.report.build import build_report, changes, figures, gap_sections, gap_sentence
from bot.domain.report.model import (
    AccessFinding,
    CatalogEntry,
    Changes,
    EnvironmentImages,
    HealthReport,
    ImageInfo,
    Item,
    JobStat,
    Level,
    RegistrySnapshot,
    ReportFigures,
    RepositoryInfo,
    ScanFinding,
    Section,
    SectionId,
)

__all__ = [
    "AccessFinding",
    "CatalogEntry",
    "Changes",
    "EnvironmentImages",
    "HealthReport",
    "ImageInfo",
    "Item",
    "JobStat",
    "Level",
    "RegistrySnapshot",
    "ReportFigures",
    "RepositoryInfo",
    "ScanFinding",
    "Section",
    "SectionId",
    "build_report",
    "changes",
    "figures",
    "gap_sections",
    "gap_sentence",
]
