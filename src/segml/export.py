"""What business users receive: the tier table (minimal personal data) and an Excel workbook."""

from __future__ import annotations

import io as _bytes_io
from dataclasses import dataclass

import pandas as pd
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from segml import schema as s
from segml.config import ExportConfig
from segml.privacy import pseudonymize
from segml.report import ReportInputs, render

LANGUAGE_SUFFIX = {"en": "_zh", "zh": "_en"}  # columns dropped for a single-language export
MONEY = {"current_value", "predicted_value", "upside", "monetary_total", "value", "mean_predicted_value"}
PERCENT = {"churn_probability", "customer_share", "value_share", "mean_churn_probability", "kept_share"}


class ExportError(ValueError):
    """Export settings cannot be honoured; the message says which setting to fix."""


def export_table(table: pd.DataFrame, cfg: ExportConfig, salt: str | None) -> pd.DataFrame:
    """Apply language, column allow-list and pseudonymisation. Never mutates `table`."""
    out = table
    if cfg.language in LANGUAGE_SUFFIX:
        out = out[[c for c in out.columns if not c.endswith(LANGUAGE_SUFFIX[cfg.language])]]
    if cfg.columns:
        unknown = [c for c in cfg.columns if c not in table.columns]
        if unknown:
            raise ExportError(f"export.columns lists unknown columns {unknown}; available: {list(table.columns)}")
        out = out[[c for c in cfg.columns if c in out.columns]]
    out = out.copy()
    if cfg.pseudonymize_ids and s.CUSTOMER_ID in out:
        if not salt:
            raise ExportError(f"export.pseudonymize_ids is on but the environment variable {cfg.salt_env} "
                              "is empty: set it to a secret salt (it is never logged).")
        out[s.CUSTOMER_ID] = pseudonymize(out[s.CUSTOMER_ID], salt)
    return out


def header(column: str, cfg: ExportConfig) -> str:
    names = cfg.headers.get(column, {})
    if cfg.language == "both":
        zh, en = names.get("zh"), names.get("en")
        return f"{zh} {en}" if zh and en else column
    return names.get(cfg.language, column)


def _write_sheet(writer: pd.ExcelWriter, frame: pd.DataFrame, name: str, cfg: ExportConfig,
                 start_row: int = 0, title: str | None = None) -> int:
    """A formatted sheet block: bold frozen header, filter, money/percent formats. Returns next row."""
    if title:
        pd.DataFrame({title: []}).to_excel(writer, sheet_name=name, startrow=start_row, index=False)
        start_row += 1
    labelled = frame.rename(columns={c: header(c, cfg) for c in frame.columns})
    labelled.to_excel(writer, sheet_name=name, startrow=start_row, index=False)
    sheet = writer.sheets[name]
    for j, column in enumerate(frame.columns, start=1):
        letter = get_column_letter(j)
        cell = sheet.cell(row=start_row + 1, column=j)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        fmt = "#,##0.00" if column in MONEY else ("0.0%" if column in PERCENT else None)
        if fmt:
            for row in range(start_row + 2, start_row + 2 + len(frame)):
                sheet.cell(row=row, column=j).number_format = fmt
        width = max([len(str(header(column, cfg)))] + [len(str(v)) for v in frame[column].head(200)])
        sheet.column_dimensions[letter].width = min(max(10, width + 2), 60)
    if start_row == 0:
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(frame.columns), 1))}{len(frame) + 1}"
    return start_row + len(frame) + 3


def actions_table(actions: dict) -> pd.DataFrame:
    rows = [{"policy": policy, "grade": grade, "team": a.get("team", ""), "action_en": a.get("en", ""),
             "action_zh": a.get("zh", "")} for policy, grades in actions.items() for grade, a in grades.items()]
    return pd.DataFrame(rows)


def workbook(table: pd.DataFrame, summary: pd.DataFrame, movement: dict, metrics: pd.DataFrame,
             actions: dict, cfg: ExportConfig) -> bytes:
    """The workbook: summary, tier table, movement and actions sheets."""
    buffer = _bytes_io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        row = _write_sheet(writer, summary, "summary", cfg)
        _write_sheet(writer, metrics, "summary", cfg, row, "Model quality vs baselines 模型效果与基准对比")
        _write_sheet(writer, table, "tiers", cfg)
        if movement.get("available"):
            kept = pd.DataFrame({"kept_share": [movement["kept_share"]]})
            row = _write_sheet(writer, kept, "movement", cfg)
            row = _write_sheet(writer, movement["matrix"], "movement", cfg, row, "Transition matrix 等级迁移矩阵")
            row = _write_sheet(writer, movement["upgrades"], "movement", cfg, row, "Upgrades 升级客户")
            _write_sheet(writer, movement["downgrades"], "movement", cfg, row, "Downgrades 降级客户")
        else:
            _write_sheet(writer, pd.DataFrame({"note": ["No previous run to compare with yet. 暂无上期结果可比较。"]}),
                         "movement", cfg)
        _write_sheet(writer, actions_table(actions), "actions", cfg)
    return buffer.getvalue()


def metrics_table(metrics: dict) -> pd.DataFrame:
    """Model metrics beside baselines, one row per model/scorer, with the grade."""
    rows = []
    for target, scorers in metrics.items():
        summary = scorers.get("summary", {})
        for scorer, values in scorers.items():
            if scorer in ("summary", "data"):
                continue
            row = {"target": target, "scorer": scorer}
            row.update({k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
            if scorer == "model":
                row["grade"] = summary.get("grade")
                row["beats_baseline"] = summary.get("beats_baseline")
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Exports:
    table: pd.DataFrame  # for parquet and CSV
    workbook: bytes | None
    report: str | None


def build_exports(inputs: ReportInputs, actions: dict, levels: list[str], cfg: ExportConfig,
                  salt: str | None) -> Exports:
    """The export stage: the shareable table, the workbook and the report."""
    table = export_table(inputs.table, cfg, salt)
    movement = dict(inputs.movement)
    if movement.get("available") and cfg.pseudonymize_ids:
        for key in ("upgrades", "downgrades"):
            movement[key] = movement[key].assign(**{s.CUSTOMER_ID: pseudonymize(movement[key][s.CUSTOMER_ID], salt)})
    book = None
    if "xlsx" in cfg.formats:
        book = workbook(table, inputs.summary, movement, inputs.metrics, actions, cfg)
    return Exports(table, book, render(inputs, levels) if cfg.report else None)


def build_scored_exports(result, actions: dict, cfg: ExportConfig, salt: str | None) -> Exports:
    """Exports for `segml score`: the table and workbook (model quality lives with the training run)."""
    table = export_table(result.table, cfg, salt)
    book = workbook(table, result.summary, {"available": False}, pd.DataFrame({"note": ["scored with registered "
                    "models; see their MLflow run for quality"]}), actions, cfg) if "xlsx" in cfg.formats else None
    return Exports(table, book, None)
