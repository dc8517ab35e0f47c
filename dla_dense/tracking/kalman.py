"""The constant-velocity Kalman filter of SORT / DeepSORT that ByteTrack and FairMOT use, on ``(cx, cy, a, h)``
(centre, aspect ``w / h``, height) with their velocities; noise scales 1/20 (position) and 1/160 (velocity)
of the height."""

from __future__ import annotations

import numpy as np
import scipy.linalg

#: 0.95 quantile of the chi-square distribution with N degrees of freedom (Mahalanobis gating).
CHI2INV95 = {1: 3.8415, 2: 5.9915, 3: 7.8147, 4: 9.4877, 5: 11.070, 6: 12.592, 7: 14.067, 8: 15.507, 9: 16.919}


class KalmanFilter:
    """State ``mean [8]`` = ``(cx, cy, a, h, vcx, vcy, va, vh)`` and ``covariance [8, 8]``; measurements
    ``(cx, cy, a, h)``."""

    def __init__(self) -> None:
        self.motion = np.eye(8)
        self.motion[:4, 4:] = np.eye(4)
        self.observe = np.eye(4, 8)
        self.w_pos = 1.0 / 20
        self.w_vel = 1.0 / 160

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A new track's state from one measurement (velocities 0)."""
        h = measurement[3]
        mean = np.r_[measurement, np.zeros_like(measurement)]
        std = [2 * self.w_pos * h, 2 * self.w_pos * h, 1e-2, 2 * self.w_pos * h]
        std += [10 * self.w_vel * h, 10 * self.w_vel * h, 1e-5, 10 * self.w_vel * h]
        return mean, np.diag(np.square(std))

    def _motion_noise(self, h: np.ndarray) -> np.ndarray:
        ones = np.ones_like(h)
        std = [self.w_pos * h, self.w_pos * h, 1e-2 * ones, self.w_pos * h]
        std += [self.w_vel * h, self.w_vel * h, 1e-5 * ones, self.w_vel * h]
        return np.square(np.stack(std, -1))

    def multi_predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step ahead for ``mean [N, 8]`` and ``covariance [N, 8, 8]``."""
        noise = self._motion_noise(mean[:, 3])
        mean = mean @ self.motion.T
        covariance = self.motion @ covariance @ self.motion.T
        return mean, covariance + np.stack([np.diag(n) for n in noise])

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state as a measurement distribution (mean ``[4]``, covariance ``[4, 4]``)."""
        std = [self.w_pos * mean[3], self.w_pos * mean[3], 1e-1, self.w_pos * mean[3]]
        projected = self.observe @ covariance @ self.observe.T
        return self.observe @ mean, projected + np.diag(np.square(std))

    def update(
        self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The state corrected by ``measurement`` (Cholesky solve, as the reference)."""
        projected_mean, projected_cov = self.project(mean, covariance)
        factor = scipy.linalg.cho_factor(projected_cov, lower=True, check_finite=False)
        gain = scipy.linalg.cho_solve(factor, (covariance @ self.observe.T).T, check_finite=False).T
        mean = mean + (measurement - projected_mean) @ gain.T
        covariance = covariance - gain @ projected_cov @ gain.T
        return mean, covariance

    def gating_distance(self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance ``[M]`` of ``measurements [M, 4]`` to the state's measurement
        distribution (compare with :data:`CHI2INV95` ``[4]``)."""
        projected_mean, projected_cov = self.project(mean, covariance)
        factor = np.linalg.cholesky(projected_cov)
        z = scipy.linalg.solve_triangular(factor, (measurements - projected_mean).T, lower=True, check_finite=False)
        return np.sum(z * z, axis=0)
