#!/usr/bin/env python3
"""References for bertc's distillation loss (tests/test_distill.c): DistilBERT's / Hinton's loss written as PyTorch
users write it,

    loss = alpha * F.cross_entropy(z, y)
           + (1 - alpha) * nn.KLDivLoss(reduction="batchmean")(F.log_softmax(z / T, -1), F.softmax(t / T, -1)) * T**2

and its gradient over the student's logits z by autograd, in float64, for seeded random logits (one row extreme),
2 and 3 labels, several temperatures and alphas. Run with any torch (made with Debian 12's python3-torch, torch.__version__ 1.13.0a0):
    python3 tools/make_distill_refs.py tests/data/distill/loss.ref.json
"""
import json
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(26)
cases = []
for L in (2, 3):
    for T, alpha in ((1.0, 0.5), (2.0, 0.5), (4.0, 0.0), (2.0, 1.0), (0.5, 0.3)):
        z = (torch.randn(5, L, dtype=torch.float64) * 3).float().double()
        t = (torch.randn(5, L, dtype=torch.float64) * 4).float().double()
        z[4, 0], t[4, L - 1] = 30.0, 25.0
        y = torch.randint(0, L, (5,))
        z.requires_grad_(True)
        kl = torch.nn.KLDivLoss(reduction="batchmean")(F.log_softmax(z / T, -1), F.softmax(t / T, -1)) * T * T
        loss = alpha * F.cross_entropy(z, y) + (1 - alpha) * kl
        loss.backward()
        cases.append({"labels": L, "temperature": T, "alpha": alpha, "student": z.detach().flatten().tolist(),
                      "teacher": t.flatten().tolist(), "y": y.tolist(), "loss": loss.item(),
                      "grad": z.grad.flatten().tolist()})
json.dump({"torch": torch.__version__, "cases": cases}, open(sys.argv[1], "w"), indent=1)
print(len(cases), "cases ->", sys.argv[1])
