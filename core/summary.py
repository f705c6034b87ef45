"""A model's layer table as plain data: no Keras here, so front ends can hold it freely."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LayerRow:
    name: str
    type: str
    output_shape: str
    params: int


@dataclass(frozen=True, slots=True)
class ModelSummary:
    model_name: str
    rows: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int
    non_trainable_params: int

    def format_table(self) -> str:
        """The layer table as plain text, as Keras' own summary would show it."""
        header = ("Layer", "Type", "Output shape", "Params")
        body = [(r.name, r.type, r.output_shape, f"{r.params:,}") for r in self.rows]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]

        def line(cells: tuple[str, str, str, str]) -> str:
            return "  ".join(
                cell.rjust(width) if i == 3 else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        rule = "-" * len(line(header))
        lines = [f"Model: {self.model_name}", rule, line(header), rule]
        lines += [line(row) for row in body]
        lines += [
            rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
        ]
        return "\n".join(lines)
