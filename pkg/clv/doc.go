// Package clv computes customer lifetime value.
//
// Historic CLV is what the customer has been worth so far: net revenue
// (purchases minus refunds) and net gross margin, kept exactly in minor units
// by package customer. This package adds the forward-looking figures. The
// classic formula values a customer as
//
//	CLV = average order value × purchases per year × expected lifespan in years × gross margin
//
// (Classic). It is the baseline the service publishes until a probabilistic
// customer-base model (BG/NBD, MBG/NBD with Gamma-Gamma spend) has been
// fitted. All functions are pure.
package clv
