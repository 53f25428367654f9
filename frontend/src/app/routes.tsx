import { createBrowserRouter } from "react-router";

import { AccountPage } from "../account/AccountPage";
import { ForgotPasswordPage } from "../auth/ForgotPasswordPage";
import { ResetPasswordPage } from "../auth/ResetPasswordPage";
import { SignInPage } from "../auth/SignInPage";
import { SignUpPage } from "../auth/SignUpPage";
import { SocialCallbackPage } from "../auth/SocialCallbackPage";
import { VerifyEmailPage } from "../auth/VerifyEmailPage";
import { CreatePage } from "../create/CreatePage";
import { CreditsPage } from "../credits/CreditsPage";
import { PaymentPage } from "../credits/PaymentPage";
import { PaymentReturnPage } from "../credits/PaymentReturnPage";
import { HistoryPage } from "../tasks/HistoryPage";
import { TaskPage } from "../tasks/TaskPage";
import { Layout } from "./Layout";
import { NotFoundPage } from "./NotFoundPage";
import { GuestOnly, RequireAuth } from "./RequireAuth";

// Every route is a history-mode URL: the platform answers index.html for each.
export const routes = [
  {
    element: <Layout />,
    children: [
      {
        element: <GuestOnly />,
        children: [
          { path: "/sign-in", element: <SignInPage /> },
          { path: "/sign-up", element: <SignUpPage /> },
          { path: "/forgot-password", element: <ForgotPasswordPage /> },
        ],
      },
      { path: "/reset-password", element: <ResetPasswordPage /> },
      { path: "/verify-email", element: <VerifyEmailPage /> },
      { path: "/auth/google/callback", element: <SocialCallbackPage provider="google" /> },
      { path: "/auth/wechat/callback", element: <SocialCallbackPage provider="wechat" /> },
      {
        element: <RequireAuth />,
        children: [
          { path: "/", element: <CreatePage /> },
          { path: "/tasks", element: <HistoryPage /> },
          { path: "/tasks/:taskId", element: <TaskPage /> },
          { path: "/credits", element: <CreditsPage /> },
          { path: "/credits/return", element: <PaymentReturnPage /> },
          { path: "/credits/payments/:paymentId", element: <PaymentPage /> },
          { path: "/account", element: <AccountPage /> },
        ],
      },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];

export const router = createBrowserRouter(routes);
