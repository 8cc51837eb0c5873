# The PyTorch peer of bench/train.ts: the LIF or ALIF model of examples/ written
# as a user would write it in PyTorch 1.13 (autograd through the unrolled loop,
# a surrogate gradient as a torch.autograd.Function), trained by BPTT on the
# same parameters and data the benchmark hands over as float32 files.
#
# Protocol (one JSON object per line on stdin, one answer per line on stdout):
#   {"cmd": "load", "dir": ..., "model": "lif"|"alif", "n": .., "nIn": .., "nOut": .., "T": .., "B": .., "threads": 1}
#   {"cmd": "step"}   → {"seconds": wall seconds of one update (forward + backward), "loss": ..., "grads": {name: [norm]}}
#   {"cmd": "quit"}   → {"maxRssBytes": ...}
import json, math, resource, sys, time

import numpy as np
import torch

class FastSigmoidSpike(torch.autograd.Function):
    """Heaviside forward; SuperSpike's 1/(1 + slope|x|)^2 backward (ad/rules.ts fast_sigmoid)."""
    slope = 10.0
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + FastSigmoidSpike.slope * x.abs()) ** 2

class TriangleSpike(torch.autograd.Function):
    """Heaviside forward; scale * max(0, 1 - |x|/width) backward (lang/surrogates.ts triangle, width 1, scale 0.3: Bellec et al.'s gamma)."""
    scale = 0.3
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * TriangleSpike.scale * torch.clamp(1 - x.abs(), min=0)

def mse(a, b):
    return ((a - b) ** 2).mean(dim=-1)

def lif_loss(p, x, y, w):
    alpha, theta = math.exp(-1 / 20), 1.0
    T, B, _ = x.shape
    n = p["W_rec"].shape[0]
    u = torch.zeros(B, n); z = torch.zeros(B, n)
    total = 0
    for t in range(T):
        u = alpha * u + z @ p["W_rec"].T + x[t] @ p["W_in"].T - theta * z
        z = FastSigmoidSpike.apply(u - theta)
        total = total + (w[t] * mse(z @ p["W_out"].T, y[t])).sum()
    return total

def alif_loss(p, x, y, w):
    # examples/alif.eligo (Bellec et al. 2020): refractory steps through a detached counter, the readout
    # W_out @ zbar with zbar the exponentially filtered spikes, cross-entropy of the readout at every step.
    alpha, rho, kappa = math.exp(-1 / 20), math.exp(-1 / 2000), math.exp(-1 / 20)
    v_th, n_ref = 0.6, 5
    beta = 1.7 * (1 - rho) / (1 - alpha)
    T, B, _ = x.shape
    n = p["W_rec"].shape[0]
    v = torch.zeros(B, n); a = torch.zeros(B, n); z = torch.zeros(B, n); r = torch.zeros(B, n); zbar = torch.zeros(B, n)
    total = 0
    for t in range(T):
        v_new = alpha * v + z @ p["W_rec"].T + x[t] @ p["W_in"].T - v_th * z
        a_new = rho * a + z
        z_new = (1 - torch.clamp(r, max=1).detach()) * TriangleSpike.apply((v_new - (v_th + beta * a_new)) / v_th)
        r = torch.clamp(torch.clamp(r + n_ref * z_new - 1, min=0), max=n_ref).detach()
        zbar = kappa * zbar + (1 - kappa) * z_new
        v, a, z = v_new, a_new, z_new
        logp = torch.log_softmax(zbar @ p["W_out"].T, dim=-1)
        total = total + (w[t] * -(y[t] * logp).sum(dim=-1)).sum()
    return total

def main():
    state = {}
    for line in sys.stdin:
        m = json.loads(line)
        if m["cmd"] == "load":
            torch.set_num_threads(int(m.get("threads", 1)))
            d, T, B = m["dir"], m["T"], m["B"]
            rd = lambda name, shape: torch.from_numpy(np.fromfile(f"{d}/{name}.f32", dtype=np.float32).reshape(shape).copy())
            names = ["W_in", "W_rec", "W_out"]
            shapes = {"W_in": (m["n"], m["nIn"]), "W_rec": (m["n"], m["n"]), "W_out": (m["nOut"], m["n"])}
            p = {k: rd(k, shapes[k]).requires_grad_(True) for k in names}
            x = rd("x", (T, B, m["nIn"])); y = rd("y", (T, B, m["nOut"]))
            # The step's loss weight divided by B, as the trainer weighs it.
            w = rd("weight", (T, B)) / B
            state = {"p": p, "x": x, "y": y, "w": w, "f": lif_loss if m["model"] == "lif" else alif_loss}
            print(json.dumps({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        elif m["cmd"] == "step":
            s = state
            for q in s["p"].values():
                q.grad = None
            t0 = time.perf_counter()
            loss = s["f"](s["p"], s["x"], s["y"], s["w"])
            loss.backward()
            dt = time.perf_counter() - t0
            grads = {k: q.grad.detach().numpy().astype(np.float64).ravel().tolist() if m.get("full") else [float(q.grad.norm())] for k, q in s["p"].items()}
            print(json.dumps({"seconds": dt, "loss": float(loss), "grads": grads}), flush=True)
        elif m["cmd"] == "quit":
            print(json.dumps({"maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}), flush=True)
            return

if __name__ == "__main__":
    main()
