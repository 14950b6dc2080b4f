"""`pixelnet train` and `pixelnet show`: thin handlers over the trainer library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pixelnet.files import write_atomically
from pixelnet.options import add_command, add_model_options, resolve_model, warn
from pixelnet.progress import Progress

from .activations import ACTIVATIONS
from .data import HOLD_OUT
from .evaluate import format_confusion
from .model_file import save_model
from .network import LOSSES
from .optimizers import OPTIMIZERS
from .training import TrainConfig

DEFAULTS = TrainConfig()
EXIT_FAILED = 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add this folder's subcommands to the `pixelnet` parser."""
    _register_train(sub)
    _register_show(sub)


def _register_train(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "train",
        help="train a four-pixel network and write its model file",
        description="Train on the generated 2x2 patterns (and/or recordings) by backpropagation, "
        "print accuracy on the clean and held-out noisy patterns, write the model file.",
        examples=[
            "pixelnet train --out model.json",
            "pixelnet train --l1 0.001 --out sparse.json   # sparse: a readable `show --png`",
            "pixelnet train --data horiz.csv vert.csv --out model.json   # + your recordings",
        ],
    )
    p.add_argument("--hidden", type=_int_list, default=DEFAULTS.hidden,
                   help="hidden layer sizes (default: 4,4,8)")
    p.add_argument("--activations", type=_name_list, default=DEFAULTS.activations,
                   help=f"one per hidden layer, from {', '.join(ACTIVATIONS)} "
                   "(default: tanh,tanh,relu)")
    p.add_argument("--output-activation", choices=list(ACTIVATIONS),
                   default=DEFAULTS.output_activation, help="activation of the output layer")
    p.add_argument("--loss", choices=list(LOSSES), default=DEFAULTS.loss,
                   help="squared: the lesson's error against the one-hot truth; "
                   "cross-entropy: softmax (default: %(default)s)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=DEFAULTS.optimizer,
                   help="sgd: the lesson's one example at a time (default: %(default)s)")
    p.add_argument("--lr", type=float, default=DEFAULTS.learning_rate,
                   help="learning rate (default: %(default)s)")
    p.add_argument("--momentum", type=float, default=DEFAULTS.momentum,
                   help="for --optimizer momentum (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=DEFAULTS.epochs,
                   help="at most this many passes over the data (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="examples per step (default: 1 for sgd, 128 otherwise)")
    p.add_argument("--l1", type=float, default=0.0,
                   help="L1 penalty: a sparse network, readable when drawn (try 0.001)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty")
    p.add_argument("--dropout", type=float, default=0.0, help="hidden-neuron dropout rate")
    p.add_argument("--no-bias", action="store_true", help="no biases (the lesson's form)")
    p.add_argument("--early-stopping", action="store_true",
                   help="hold out 10%% for validation and keep the best weights")
    p.add_argument("--patience", type=int, default=DEFAULTS.patience,
                   help="stop after this many epochs without improvement; 0: never "
                   "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--data", nargs="+", default=[], metavar="CSV",
                   help="labelled recordings (header label,tl,tr,bl,br, as `pixelnet record` "
                   "writes them) to train on as well")
    p.add_argument("--no-generated", action="store_true",
                   help="train on the recordings only, not the generated patterns")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="also draw the loss and the clean/noisy accuracy per epoch to this PNG")
    p.add_argument("--out", type=Path, default=Path("build/model.json"),
                   help="model file to write (default: build/model.json)")
    p.add_argument("--min-accuracy", type=float, default=0.9,
                   help="with --data: fail (exit 1, nothing written) below this accuracy on "
                   f"the {100 * HOLD_OUT:.0f}%% of each class of the recordings held out of "
                   "training")
    p.add_argument("--force", action="store_true",
                   help="write the model even when it fails its held-out recordings")
    p.set_defaults(handler=_train)


def _register_show(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "show",
        help="summarise a model file and draw it",
        description="Print layers, parameters, sparsity and clean-pattern accuracy; optionally "
        "draw the network as the lesson does (receptive fields, white/black links).\n"
        "A network trained with --l1 (e.g. `pixelnet train --l1 0.001`) has few links "
        "and draws readably.",
        examples=[
            "pixelnet show --model model.json --png net.png",
            "pixelnet show --lesson --png lesson.png",
        ],
    )
    add_model_options(p, required=True, positional_alias=True)
    p.add_argument("--png", type=Path, metavar="FILE",
                   help="also draw the network to this PNG file (white link = positive weight, "
                   "black = negative, thickness = |weight|, tile = what the neuron responds to)")
    p.set_defaults(handler=_show)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def _name_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


def _train(args: argparse.Namespace) -> int:
    from .train import train_model  # scikit-learn loads only when training

    config = TrainConfig(
        hidden=args.hidden,
        activations=args.activations,
        output_activation=args.output_activation,
        loss=args.loss,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        momentum=args.momentum,
        epochs=args.epochs,
        batch_size=args.batch_size,
        l1=args.l1,
        l2=args.l2,
        dropout=args.dropout,
        bias=not args.no_bias,
        early_stopping=args.early_stopping,
        patience=args.patience or None,
        seed=args.seed,
    )
    progress = Progress("training", config.epochs)
    try:
        model = train_model(
            config, args.data, generated=not args.no_generated,
            on_epoch=lambda epoch, loss: progress.update(epoch, f"loss {loss:.5f}"),
            curves=args.plot is not None,
        )
    finally:
        progress.close()
    result = model.training["evaluation"]
    loss = model.training["loss"]
    print(f"trained {'-'.join(map(str, model.sizes))} "
          f"({', '.join(layer.activation for layer in model.layers)}) "
          f"in {model.training['epochs_run']} epochs, seed {config.seed}")
    print(f"final loss: {loss['final']:.6f} (first epoch {loss['first']:.6f})")
    print(f"clean patterns: {result['clean_accuracy']:.1%}")
    print(f"noisy held-out: {result['noisy_accuracy']:.2%} of {result['noisy_samples']}")
    print("confusion matrix (noisy held-out):")
    print(format_confusion(result["noisy_confusion"], model.classes))
    recordings = model.training.get("recordings")
    if recordings is not None and not _passes_own_recordings(args, recordings, model.classes):
        print(f"model {model.short_hash} not written: it fails its own recordings "
              "(--force writes it anyway)", file=sys.stderr)
        return EXIT_FAILED
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, args.out)
    print(f"model {model.short_hash} written to {args.out}")
    if args.plot is not None:
        from .curves import curves_title, draw_curves_png

        png = draw_curves_png(model.training["curves"], curves_title(model))
        print(f"training curves drawn to {write_atomically(args.plot, png, what='the plot')}")
    return 0


def _passes_own_recordings(args: argparse.Namespace, recordings: dict[str, Any],
                           classes: tuple[str, ...]) -> bool:
    """Report rows per class and the held-out accuracy; True when the model may be written."""
    counts = recordings["rows_per_class"]
    print(f"recordings: {sum(counts.values()):,} rows: "
          + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
    if recordings["missing_classes"]:
        warn(args, f"warning: no recordings of {', '.join(recordings['missing_classes'])}: "
             "learnt from the generated patterns alone")
    accuracy = recordings["held_out_accuracy"]
    if accuracy is None:
        warn(args, "warning: too few recordings to hold any out: accuracy on them not measured")
        return True
    print(f"held-out recordings: {accuracy:.2%} of {recordings['held_out']:,} "
          f"({HOLD_OUT:.0%} of each recorded class, not trained on)")
    print("confusion matrix (held-out recordings):")
    print(format_confusion(recordings["held_out_confusion"], classes))
    if accuracy >= args.min_accuracy:
        return True
    warn(args, f"FAIL: {accuracy:.2%} on the held-out recordings, below "
         f"--min-accuracy {args.min_accuracy:.0%}" + ("; written anyway (--force)"
                                                       if args.force else ""))
    return args.force


def _show(args: argparse.Namespace) -> int:
    from .show import draw_network, save_png, summary

    model = resolve_model(args)
    print(summary(model))
    if args.png is not None:
        args.png.parent.mkdir(parents=True, exist_ok=True)
        print(f"picture written to {save_png(draw_network(model), args.png)}")
    return 0

