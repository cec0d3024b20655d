"""The UVA/Padova type 1 diabetes model (2008 version) as simglucose 0.2.11 implements it.

Written here from the published equations and simglucose's choices (read, not copied): the
same 13 states, the same meal handling (a meal is eaten at 5 g/min; the gastric emptying
rate follows the meal's total), the same insulin units, the same clamps at zero. The
integrator is an adaptive Dormand-Prince 5(4) over each 1-minute step with constant
inputs, at simglucose's tolerances; tests/test_patient_model.py holds it against
simglucose's published trajectory.

States (per kg of body weight): 0-2 stomach solid, stomach liquid, gut (mg); 3 plasma
glucose Gp, 4 tissue glucose Gt (mg/kg); 5 plasma insulin Ip, 9 liver insulin Il (pmol/kg);
6 insulin action on utilisation X; 7-8 delayed insulin action on production I', XL;
10-11 subcutaneous insulin (pmol/kg); 12 subcutaneous glucose (mg/kg).
"""

from __future__ import annotations

from math import tanh

from pumpctl.patient.params import Patient

EAT_RATE_G_PER_MIN = 5.0
U_TO_PMOL = 6000.0
RTOL = 1e-6  # simglucose's (scipy dopri5 defaults)
ATOL = 1e-12

# Dormand-Prince 5(4) tableau
_C2, _C3, _C4, _C5 = 1 / 5, 3 / 10, 4 / 5, 8 / 9
_A21 = 1 / 5
_A31, _A32 = 3 / 40, 9 / 40
_A41, _A42, _A43 = 44 / 45, -56 / 15, 32 / 9
_A51, _A52, _A53, _A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
_A61, _A62, _A63, _A64, _A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
_B1, _B3, _B4, _B5, _B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
# error weights: fifth-order minus fourth-order solution
_E1, _E3, _E4 = 71 / 57600, -71 / 16695, 71 / 1920
_E5, _E6, _E7 = -17253 / 339200, 22 / 525, -1 / 40


class PatientModel:
    """One virtual person, stepped a minute at a time.

    ``step(carbs_g, insulin_u)``: ``carbs_g`` announced this minute (eaten at 5 g/min from
    now on), ``insulin_u`` reaching the subcutaneous depot during this minute."""

    def __init__(self, patient: Patient):
        self.patient = patient
        self.x = list(patient.x0)
        self.t_min = 0
        p = patient.p
        self._p = p
        self._last_qsto = self.x[0] + self.x[1]
        self._food_taken = 0.0  # g eaten since this meal began
        self._eating = False
        self._last_cho = 0.0
        self._planned = 0.0  # g announced, not yet eaten
        self._h = 0.0  # step size carried from one minute to the next

    # --- inputs ---------------------------------------------------------------
    def step(self, carbs_g: float = 0.0, insulin_u: float = 0.0) -> None:
        """Advance one minute."""
        self._planned += carbs_g
        cho = min(EAT_RATE_G_PER_MIN, self._planned) if self._planned > 0 else 0.0
        self._planned = max(0.0, self._planned - cho)
        if cho > 0 and self._last_cho <= 0:  # a meal begins: gastric emptying follows it
            self._last_qsto = self.x[0] + self.x[1]
            self._food_taken = 0.0
            self._eating = True
        if self._eating:
            self._food_taken += cho
        if cho <= 0 and self._last_cho > 0:
            self._eating = False
        self._last_cho = cho
        self._integrate(cho, insulin_u, 1.0)
        self.t_min += 1

    @property
    def glucose(self) -> float:
        """Subcutaneous glucose, mg/dL (what a CGM sees before its noise)."""
        return self.x[12] / self._p["Vg"]

    @property
    def plasma_glucose(self) -> float:
        """Plasma glucose, mg/dL."""
        return self.x[3] / self._p["Vg"]

    # --- the model ------------------------------------------------------------
    def rhs(self, x: list[float], cho_g_per_min: float, insulin_u_per_min: float) -> list[float]:
        p = self._p
        d = cho_g_per_min * 1000.0  # mg/min
        insulin = insulin_u_per_min * U_TO_PMOL / p["BW"]  # pmol/kg/min
        qsto = x[0] + x[1]
        dbar = self._last_qsto + self._food_taken * 1000.0  # mg
        kmax, kmin = p["kmax"], p["kmin"]
        if dbar > 0:
            aa = 5.0 / (2.0 * dbar * (1.0 - p["b"]))
            cc = 5.0 / (2.0 * dbar * p["d"])
            kgut = kmin + (kmax - kmin) / 2.0 * (
                tanh(aa * (qsto - p["b"] * dbar)) - tanh(cc * (qsto - p["d"] * dbar)) + 2.0
            )
        else:
            kgut = kmax
        ra = p["f"] * p["kabs"] * x[2] / p["BW"]
        egp = p["kp1"] - p["kp2"] * x[3] - p["kp3"] * x[8]
        renal = p["ke1"] * (x[3] - p["ke2"]) if x[3] > p["ke2"] else 0.0
        dgp = max(egp, 0.0) + ra - p["Fsnc"] - renal - p["k1"] * x[3] + p["k2"] * x[4]
        vmt = p["Vm0"] + p["Vmx"] * x[6]
        uid = vmt * x[4] / (p["Km0"] + x[4])
        dgt = -uid + p["k1"] * x[3] - p["k2"] * x[4]
        dip = -(p["m2"] + p["m4"]) * x[5] + p["m1"] * x[9] + p["ka1"] * x[10] + p["ka2"] * x[11]
        it = x[5] / p["Vi"]
        disc1 = insulin - (p["ka1"] + p["kd"]) * x[10]
        return [
            -kmax * x[0] + d,
            kmax * x[0] - x[1] * kgut,
            kgut * x[1] - p["kabs"] * x[2],
            dgp if x[3] >= 0 else 0.0,
            dgt if x[4] >= 0 else 0.0,
            dip if x[5] >= 0 else 0.0,
            -p["p2u"] * x[6] + p["p2u"] * (it - p["Ib"]),
            -p["ki"] * (x[7] - it),
            -p["ki"] * (x[8] - x[7]),
            (-(p["m1"] + p["m30"]) * x[9] + p["m2"] * x[5]) if x[9] >= 0 else 0.0,
            disc1 if x[10] >= 0 else 0.0,
            (p["kd"] * x[10] - p["ka2"] * x[11]) if x[11] >= 0 else 0.0,
            (-p["ksc"] * x[12] + p["ksc"] * x[3]) if x[12] >= 0 else 0.0,
        ]

    # --- Dormand-Prince 5(4), adaptive ----------------------------------------------
    def _integrate(self, cho: float, ins: float, span: float) -> None:
        def f(y):
            return self.rhs(y, cho, ins)

        y = self.x
        n = len(y)
        t = 0.0
        k1 = f(y)
        h = self._h if self._h > 0 else self._initial_step(f, y, k1, span)
        rejected = False
        while t < span:
            if t + h > span:
                h = span - t
            k2 = f([y[i] + h * _A21 * k1[i] for i in range(n)])
            k3 = f([y[i] + h * (_A31 * k1[i] + _A32 * k2[i]) for i in range(n)])
            k4 = f([y[i] + h * (_A41 * k1[i] + _A42 * k2[i] + _A43 * k3[i]) for i in range(n)])
            k5 = f([y[i] + h * (_A51 * k1[i] + _A52 * k2[i] + _A53 * k3[i] + _A54 * k4[i])
                    for i in range(n)])
            k6 = f([y[i] + h * (_A61 * k1[i] + _A62 * k2[i] + _A63 * k3[i] + _A64 * k4[i]
                                + _A65 * k5[i]) for i in range(n)])
            y1 = [y[i] + h * (_B1 * k1[i] + _B3 * k3[i] + _B4 * k4[i] + _B5 * k5[i]
                              + _B6 * k6[i]) for i in range(n)]
            k7 = f(y1)
            err = 0.0
            for i in range(n):
                e = h * (_E1 * k1[i] + _E3 * k3[i] + _E4 * k4[i] + _E5 * k5[i] + _E6 * k6[i]
                         + _E7 * k7[i])
                sk = ATOL + RTOL * max(abs(y[i]), abs(y1[i]))
                err += (e / sk) ** 2
            err = (err / n) ** 0.5
            # Hairer's step control (safety 0.9, factor limits 0.2..10)
            fac = max(0.1, min(5.0, err ** 0.2 / 0.9))
            hnew = h / fac
            if err <= 1.0:
                t += h
                y = y1
                k1 = k7
                if rejected:
                    hnew = min(hnew, h)
                rejected = False
                if t < span:
                    self._h = hnew
            else:
                hnew = h / min(5.0, err ** 0.2 / 0.9)
                rejected = True
            h = hnew
        self.x = y

    @staticmethod
    def _initial_step(f, y, f0, span: float) -> float:
        """Hairer's starting step guess (HINIT)."""
        n = len(y)
        sk = [ATOL + RTOL * abs(v) for v in y]
        dnf = sum((f0[i] / sk[i]) ** 2 for i in range(n)) / n
        dny = sum((y[i] / sk[i]) ** 2 for i in range(n)) / n
        h = 1e-6 if dnf <= 1e-10 or dny <= 1e-10 else (dny / dnf) ** 0.5 * 0.01
        h = min(h, span)
        y1 = [y[i] + h * f0[i] for i in range(n)]
        f1 = f(y1)
        der2 = (sum(((f1[i] - f0[i]) / sk[i]) ** 2 for i in range(n)) / n) ** 0.5 / h
        der12 = max(abs(der2), dnf ** 0.5)
        h1 = max(1e-6, abs(h) * 1e-3) if der12 <= 1e-15 else (0.01 / der12) ** 0.2
        return min(100 * abs(h), h1, span)
