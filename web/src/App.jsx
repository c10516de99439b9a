// App.jsx - providers, the layout and the routes (each page is its own lazily loaded chunk).
import { Suspense, lazy } from 'react';
import { BrowserRouter, Outlet, Route, Routes } from 'react-router-dom';
import { AuthProvider } from './hooks/useAuth.jsx';
import { SocketProvider } from './hooks/useSocket.jsx';
import Navbar from './components/Navbar.jsx';
import ProtectedRoute from './components/ProtectedRoute.jsx';
import { ToastProvider } from './components/Toasts.jsx';
import { PageLoader } from './components/Status.jsx';
import ScrollToTop from './components/ScrollToTop.jsx';

const Welcome = lazy(() => import('./pages/Welcome.jsx'));
const Login = lazy(() => import('./pages/Login.jsx'));
const Register = lazy(() => import('./pages/Register.jsx'));
const Viewer = lazy(() => import('./pages/Viewer.jsx'));
const Streamer = lazy(() => import('./pages/Streamer.jsx'));
const Profile = lazy(() => import('./pages/Profile.jsx'));
const NotFound = lazy(() => import('./pages/NotFound.jsx'));

function Layout() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Navbar />
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<PageLoader />}>
          <Outlet />
        </Suspense>
      </main>
    </>
  );
}

export default function App() {
  return (
    <BrowserRouter>
      <AuthProvider>
        <SocketProvider>
          <ToastProvider>
            <ScrollToTop />
            <Routes>
              <Route element={<Layout />}>
                <Route index element={<Welcome />} />
                <Route path="login" element={<Login />} />
                <Route path="register" element={<Register />} />
                <Route path="room/:roomId" element={<Viewer />} />
                <Route
                  path="dashboard"
                  element={
                    <ProtectedRoute>
                      <Streamer />
                    </ProtectedRoute>
                  }
                />
                <Route path="u/:username" element={<Profile />} />
                <Route path="*" element={<NotFound />} />
              </Route>
            </Routes>
          </ToastProvider>
        </SocketProvider>
      </AuthProvider>
    </BrowserRouter>
  );
}
